"""The ContactNumber jobsync gives the contacts it creates: tidy, stable, and never shared by two clients.

0.1.0 used the client key itself ("csv:marrickville dental care"). Today's form reads as a code a
bookkeeper would type ("CSV-MARRICKVILLE-DENTAL-CARE-3F2A1B"). Contacts created under the old form
still match by it (`forms`), so an upgrade never gives a client a second contact. Pure.
"""

from __future__ import annotations

import hashlib
import re

CONTACT_NUMBER_MAX = 50  # Xero's limit on ContactNumber
_HASH_LEN = 6
_NOT_CODE = re.compile(r"[^A-Z0-9]+")


def contact_number(key: str) -> str:
    """ "csv:C-1005" → "CSV-C-1005"; anything the tidy form could confuse gets a hash of the whole key.

    Upper-casing and turning every other character into "-" can map two client ids onto one code
    ("a b" and "a-b", "abc" and "ABC"). Only an id already in that form (upper case, digits, single
    dashes) is left bare; every other one ends in a short hash of the key, so the code stays unique
    and the same key always gives the same code.
    """
    source, _, client = key.partition(":")
    slug = _NOT_CODE.sub("-", client.upper()).strip("-")
    head = f"{_NOT_CODE.sub('-', source.upper()).strip('-')}-{slug}"
    if client == slug and len(head) <= CONTACT_NUMBER_MAX:
        return head
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:_HASH_LEN].upper()
    return f"{head[: CONTACT_NUMBER_MAX - _HASH_LEN - 1].rstrip('-')}-{digest}"


def forms(key: str) -> tuple[str, str]:
    """Every ContactNumber a client's contact may carry: today's, then the 0.1.0 form (the key)."""
    return contact_number(key), key
