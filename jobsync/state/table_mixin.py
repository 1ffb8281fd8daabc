"""What a group of tables kept in its own module needs from `State`: the connection and its helpers."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any, Protocol


class Connection(Protocol):
    """What `State` needs of its database: sqlite3's connection, or `postgres.PgConnection`."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, parameters: Any, /) -> Any: ...

    def close(self) -> None: ...


class TableMixin:
    """A mixin of `State`: it shares the store's one connection, transactions and clock."""

    _conn: Connection

    def _tx(self) -> AbstractContextManager[Connection]:
        raise NotImplementedError  # State provides it

    def _now(self) -> str:
        raise NotImplementedError  # State provides it
