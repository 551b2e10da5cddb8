"""The HTTP server: the FastAPI app (`app.py`), its own routes, and its background workers
(`workers/`, one per file). Only the CLI imports this package."""
