"""Bundled sample data: the demo's CSV export (`jobs.csv`), read with `importlib.resources`."""
