"""The use cases the CLI calls, one function per user action; they wire Settings to the adapters and the sync."""
