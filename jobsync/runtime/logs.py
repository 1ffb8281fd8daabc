"""Logging on stderr, in a form journald and log shippers read well.

stdout belongs to the command's output (and to `--json`); diagnostics go to stderr,
one line per event: `jobsync: LEVEL message` by default, or one JSON object per line.
Secrets never reach a log line: nothing logs tokens, keys or request bodies.
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Literal

LogFormat = Literal["text", "json"]


FIELDS = "fields"  # `log.info(msg, extra=fields(source=..., status=...))` adds these keys to a JSON line


def fields(**values: object) -> dict[str, dict[str, object]]:
    """Structured values for one log line: JSON keys in json format, `key=value` after the text otherwise."""
    return {FIELDS: values}


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        extra = getattr(record, FIELDS, None)
        if isinstance(extra, dict):
            line |= {k: v for k, v in extra.items() if k not in line}
        return json.dumps(line, default=str)


class _TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        text = f"jobsync: {record.levelname} {record.getMessage()}"
        extra = getattr(record, FIELDS, None)
        if isinstance(extra, dict) and extra:
            text += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        return text


def configure(verbosity: int = 0, quiet: bool = False, fmt: LogFormat = "text") -> None:
    """WARNING by default, INFO with -v, DEBUG with -vv, ERROR only with --quiet."""
    level = (
        logging.ERROR if quiet else (logging.DEBUG if verbosity > 1 else logging.INFO if verbosity else logging.WARNING)
    )
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(_TextFormatter())
    root = logging.getLogger("jobsync")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
