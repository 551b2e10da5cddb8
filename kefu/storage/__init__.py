"""Storage: engines and migrations (db), tables (models), the engine's writes (repo, projection)."""
