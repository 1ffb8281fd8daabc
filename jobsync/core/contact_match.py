"""Matching the job system's clients to Xero contacts. Pure: the caller supplies the snapshot.

Order of evidence, strongest first: jobsync's own client map, then the ContactNumber
jobsync gives the contacts it creates, then email, then name. Only ACTIVE contacts are
candidates. Any step that finds more than one contact, or a name match whose email
disagrees, is ambiguous: a person must choose, because billing the wrong contact is
worse than billing late.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, replace

from jobsync.core.contact_numbers import forms
from jobsync.core.models import Client, ContactDecision, ContactSnapshot, DecisionKind, XeroContact

CONTACT_NUMBER_MAX = 50  # Xero's limit on ContactNumber
_HASH_LEN = 8

_WS = re.compile(r"\s+")
_PUNCT = re.compile(r"[^\w\s]")
# Company-form suffixes that do not distinguish one business from another.
_SUFFIXES = re.compile(r"(\s+(pty|proprietary|ltd|limited|inc|incorporated|llc|plc))+$")
# Xero users and integrators disambiguate duplicates as "Name 1", "Name (2)", "Name-1".
_COPY_SUFFIX = re.compile(r"(\s*\(\d+\)|\s*-\s*\d+|\s+\d)$")


def client_key(source: str, client: Client) -> str:
    """The client's stable key (its ContactNumber is `contact_numbers.contact_number` of it).

    Longer than Xero's 50 characters: cut, and end with a hash of the whole key so two
    long keys sharing a prefix still differ, and the same key always gives the same result.
    """
    key = f"{source}:{client.id}"
    if len(key) <= CONTACT_NUMBER_MAX:
        return key
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:_HASH_LEN]
    return key[: CONTACT_NUMBER_MAX - _HASH_LEN - 1] + "~" + digest


def normalise_name(name: str | None) -> str:
    """Casefolded with whitespace collapsed: how Xero compares names for uniqueness."""
    return _WS.sub(" ", (name or "").casefold()).strip()


def business_key(name: str | None) -> str:
    """A looser key for spotting duplicates: no company suffix, punctuation or copy number."""
    text = unicodedata.normalize("NFKC", normalise_name(name)).replace("&", " and ")
    text = _COPY_SUFFIX.sub("", text)
    text = _WS.sub(" ", _PUNCT.sub(" ", text)).strip()
    text = _SUFFIXES.sub("", text)
    return _COPY_SUFFIX.sub("", text).strip()


def company_key(name: str | None) -> str:
    """Name without company suffix, punctuation or "&"/"and" differences, numbers kept.

    The resolver uses this rather than `business_key`: "Strata Plan 1" and "Strata Plan 2"
    are different clients, even though a trailing number can also mark a Xero copy.
    """
    text = unicodedata.normalize("NFKC", normalise_name(name)).replace("&", " and ")
    text = _WS.sub(" ", _PUNCT.sub(" ", text)).strip()
    return _SUFFIXES.sub("", text).strip()


def normalise_email(email: str | None) -> str | None:
    value = (email or "").strip().casefold()
    return value or None


@dataclass(frozen=True)
class ContactIndex:
    """Active contacts by each key the resolver matches on, plus every contact by id."""

    by_id: dict[str, XeroContact]
    by_number: dict[str, list[XeroContact]]
    by_email: dict[str, list[XeroContact]]
    by_name: dict[str, list[XeroContact]]
    by_company: dict[str, list[XeroContact]]

    @classmethod
    def of(cls, contacts: tuple[XeroContact, ...]) -> ContactIndex:
        index = cls({c.contact_id: c for c in contacts}, {}, {}, {}, {})
        for c in contacts:
            if c.status != "ACTIVE":
                continue  # archived or merged contacts never receive a new invoice
            for table, key in (
                (index.by_number, c.contact_number),
                (index.by_email, normalise_email(c.email)),
                (index.by_name, normalise_name(c.name)),
                (index.by_company, company_key(c.name)),
            ):
                if key:
                    table.setdefault(key, []).append(c)
        return index


def indexed(snapshot: ContactSnapshot) -> ContactSnapshot:
    """The snapshot with its lookup index built (once; `replace` keeps it)."""
    return snapshot if snapshot.index is not None else replace(snapshot, index=ContactIndex.of(snapshot.contacts))


def _index(snapshot: ContactSnapshot) -> ContactIndex:
    return snapshot.index if isinstance(snapshot.index, ContactIndex) else ContactIndex.of(snapshot.contacts)


def decide(source: str, client: Client, snapshot: ContactSnapshot) -> ContactDecision:
    """Which contact this client's invoices go to: existing, new, or ambiguous (held)."""
    key = client_key(source, client)
    base = ContactDecision(
        kind=DecisionKind.NEW,
        client_key=key,
        name=_WS.sub(" ", client.name).strip(),
        email=(client.email or "").strip() or None,
        phone=client.phone,
    )
    index = _index(snapshot)
    mapped = index.by_id.get(snapshot.client_map.get(key) or "")
    # An archived (or merged away) mapped contact is not used: carry on matching.
    if mapped is not None and mapped.status == "ACTIVE":
        return _existing(base, mapped, "map")
    chosen = snapshot.new_names.get(key)
    if chosen:
        # A bookkeeper chose this client's contact name (`contacts map --new-name`): create it, unless taken.
        named = replace(base, name=_WS.sub(" ", chosen).strip())
        taken = index.by_name.get(normalise_name(chosen), [])
        return _ambiguous(named, taken, "new_name_taken") if taken else named
    by_number = [c for number in dict.fromkeys(forms(key)) for c in index.by_number.get(number, [])]
    steps = (
        ("contact_number", list({c.contact_id: c for c in by_number}.values())),
        ("email", index.by_email.get(normalise_email(client.email) or "", [])),
        ("name", index.by_name.get(normalise_name(client.name), [])),
    )
    for how, found in steps:
        if len(found) > 1:
            return _ambiguous(base, found, {"contact_number": "number"}.get(how, how))
        if found:
            if how == "name" and _emails_differ(client.email, found[0].email):
                return _ambiguous(base, found, "name_taken")
            return _existing(base, found[0], how)
    # The same business under another spelling ("Acme Pty Ltd" vs "ACME Ltd."): creating a new
    # contact would make the duplicate `contacts dedupe` exists to clean up, so a person decides.
    lookalikes = index.by_company.get(company_key(client.name), [])
    if lookalikes:
        return _ambiguous(base, lookalikes, "lookalike")
    return base


def _emails_differ(a: str | None, b: str | None) -> bool:
    na, nb = normalise_email(a), normalise_email(b)
    return na is not None and nb is not None and na != nb


def _existing(base: ContactDecision, contact: XeroContact, how: str) -> ContactDecision:
    return ContactDecision(
        kind=DecisionKind.EXISTING,
        client_key=base.client_key,
        name=contact.name,
        contact_id=contact.contact_id,
        matched_by=how,
        email=contact.email,
        phone=contact.phone,
        currency=contact.default_currency,
    )


def _ambiguous(base: ContactDecision, found: list[XeroContact], cause: str) -> ContactDecision:
    ordered = tuple(sorted(found, key=lambda c: (normalise_name(c.name), c.contact_id)))
    return ContactDecision(
        kind=DecisionKind.AMBIGUOUS,
        client_key=base.client_key,
        name=base.name,
        email=base.email,
        phone=base.phone,
        candidates=ordered,
        cause=cause,
    )


def identity(email: str | None, phone: str | None) -> str:
    """How a hold shows who a client is: the email, else the phone, else that neither is known."""
    return (email or "").strip() or (phone or "").strip() or "no email or phone"


def identities_conflict(a: ContactDecision, b: ContactDecision) -> bool:
    """Two clients with one name are different people when an email or phone both give disagrees."""
    if _emails_differ(a.email, b.email):
        return True
    pa, pb = _digits(a.phone), _digits(b.phone)
    return bool(pa and pb and pa != pb)


def _digits(phone: str | None) -> str:
    return "".join(ch for ch in phone or "" if ch.isdigit())


def describe_candidates(candidates: tuple[XeroContact, ...]) -> str:
    """'Acme Pty Ltd <a@x.com> (ContactID …); …' for hold reasons."""
    parts = []
    for c in candidates:
        email = f" <{c.email}>" if c.email else ""
        parts.append(f"{c.name}{email} (ContactID {c.contact_id})")
    return "; ".join(parts)


def find_duplicate_clusters(contacts: tuple[XeroContact, ...] | list[XeroContact]) -> list[tuple[XeroContact, ...]]:
    """Groups of active contacts that look like one business: same business key or same email.

    Linked transitively (A~B by name, B~C by email → one group of three). Groups are
    sorted by their first contact's name so the listing is stable between runs.
    """
    active = [c for c in contacts if c.status == "ACTIVE"]
    parent = list(range(len(active)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_seen: dict[tuple[str, str], int] = {}
    for i, c in enumerate(active):
        keys = [("name", business_key(c.name)), ("email", normalise_email(c.email) or "")]
        for key in keys:
            if not key[1]:
                continue
            if key in first_seen:
                parent[root(i)] = root(first_seen[key])
            else:
                first_seen[key] = i
    groups: dict[int, list[XeroContact]] = {}
    for i, c in enumerate(active):
        groups.setdefault(root(i), []).append(c)
    clusters = [
        tuple(sorted(g, key=lambda c: (normalise_name(c.name), c.contact_id))) for g in groups.values() if len(g) > 1
    ]
    return sorted(clusters, key=lambda g: (normalise_name(g[0].name), g[0].contact_id))
