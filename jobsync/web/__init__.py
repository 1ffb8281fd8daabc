"""`jobsync serve`: the webhook receivers, health and metrics on Starlette, served by uvicorn."""
