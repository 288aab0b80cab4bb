"""The embedded mode: run the core over a file of recorded records, no services needed."""
