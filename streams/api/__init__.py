"""The worker's HTTP API over the serving layer: routes, parameter checks, the OpenAPI
document."""
