"""The state store: one SQLite file with the ledger, watermarks, holds, runs and actions, its schema and migrations."""
