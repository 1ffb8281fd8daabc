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


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
        )


def configure(verbosity: int = 0, quiet: bool = False, fmt: LogFormat = "text") -> None:
    """WARNING by default, INFO with -v, DEBUG with -vv, ERROR only with --quiet."""
    level = (
        logging.ERROR if quiet else (logging.DEBUG if verbosity > 1 else logging.INFO if verbosity else logging.WARNING)
    )
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("jobsync: %(levelname)s %(message)s"))
    root = logging.getLogger("jobsync")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
