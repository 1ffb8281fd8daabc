"""What a group of tables kept in its own module needs from `State`: the connection and its helpers."""

from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager


class TableMixin:
    """A mixin of `State`: it shares the store's one connection, transactions and clock."""

    _conn: sqlite3.Connection

    def _tx(self) -> AbstractContextManager[sqlite3.Connection]:
        raise NotImplementedError  # State provides it

    def _now(self) -> str:
        raise NotImplementedError  # State provides it
