"""A copy of the organisation's contacts in the state file, kept fresh with If-Modified-Since reads.

One paged read of what changed since the last sync (1,000 contacts a call)
replaces a `where` lookup per batch of clients. The copy holds only what
matching needs (name, email, number, status, phone); a run picks out the
contacts its own clients could match, so the planner sees the same contacts a
`where` lookup on the same keys would have returned.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from jobsync.core.models import XeroContact
from jobsync.xero.refcache import KeyValueCache, newest

_WS = re.compile(r"\s+")


def _fold(text: str | None) -> str:
    # Xero's `==` on Name and EmailAddress ignores case and spacing; folding alike keeps
    # every contact such a lookup would return (the matcher narrows further itself).
    return _WS.sub(" ", (text or "").casefold()).strip()


class ContactSnapshot:
    """Contacts by ContactID as `[name, email, number, status, phone, terms day, terms type, merged to,
    default currency]`,
    plus the newest UpdatedDateUTC."""

    def __init__(self, cache: KeyValueCache, tenant_id: str) -> None:
        self._cache = cache
        # v2 keeps each contact's DefaultCurrency: a copy made before it was kept is read afresh once.
        self._key = f"xero:{tenant_id}:contacts:v2"
        self.mark: datetime | None = None
        self.rows: dict[str, list[str | None]] = {}
        self.loaded = False
        raw = cache.cache_get(self._key)
        if raw:
            try:
                data = json.loads(raw)
                mark = data.get("mark")
                self.mark = datetime.fromisoformat(mark) if isinstance(mark, str) else None
                self.rows = dict(data.get("contacts") or {})
                self.loaded = True
            except (ValueError, TypeError, AttributeError):
                self.mark, self.rows = None, {}  # an unreadable copy is rebuilt by a full read

    def merge(self, page: Sequence[Mapping[str, Any]], parse: Any) -> None:
        """Fold one page of changed contacts in; `parse` turns a raw contact into a XeroContact."""
        for raw in page:
            c: XeroContact = parse(raw)
            terms = list(c.payment_terms) if c.payment_terms else [None, None]
            self.rows[c.contact_id.lower()] = [
                c.name,
                c.email,
                c.contact_number,
                c.status,
                c.phone,
                *terms,
                c.merged_to_contact_id,
                c.default_currency,
            ]
        self.mark = newest(self.mark, page)

    def save(self) -> None:
        mark = self.mark.isoformat() if self.mark is not None else None
        self._cache.cache_put(self._key, json.dumps({"mark": mark, "contacts": self.rows}, separators=(",", ":")))
        self.loaded = True

    def matching(
        self,
        contact_numbers: Iterable[str] = (),
        emails: Iterable[str] = (),
        names: Iterable[str] = (),
        contact_ids: Iterable[str] = (),
    ) -> list[XeroContact]:
        """Contacts (active and archived) matching any key: what the batched `where` would return."""
        ids = {i.lower() for i in contact_ids if i}
        numbers = {_fold(n) for n in contact_numbers if n}
        mails = {_fold(e) for e in emails if e}
        wanted_names = {_fold(n) for n in names if n}
        found: list[XeroContact] = []
        for cid, row in self.rows.items():
            # Rows saved before payment terms and merges were kept have five fields.
            name, email, number, status, phone, day, kind, merged, currency = (list(row) + [None] * 9)[:9]
            if (
                cid in ids
                or (number and _fold(number) in numbers)
                or (email and _fold(email) in mails)
                or _fold(name) in wanted_names
            ):
                found.append(
                    XeroContact(
                        contact_id=cid,
                        name=name or "",
                        email=email,
                        contact_number=number,
                        status=status or "ACTIVE",
                        phone=phone,
                        payment_terms=(int(day), str(kind)) if kind and day is not None else None,
                        merged_to_contact_id=merged,
                        default_currency=currency,
                    )
                )
        return found
