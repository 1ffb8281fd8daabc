"""The command line: typer only. Parse, call a use case, render, map errors to exit codes."""
