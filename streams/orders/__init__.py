"""The order side of the core: lifecycles, timeout exemptions and weather subsidies."""
