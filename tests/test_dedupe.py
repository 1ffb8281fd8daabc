"""Duplicate-contact clustering: pure unit tests, and precision/recall on the committed fixture via the sandbox."""

from __future__ import annotations

import itertools
import json
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from jobsync.app.dedupe_apply import contact_facts
from jobsync.core.dedupe import ContactFacts, choose_survivor, find_clusters, normalise_phone, pairwise
from jobsync.core.models import XeroContact
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.xero.auth import static_token_provider
from jobsync.xero.contacts_admin import ContactsAdmin

FIXTURE = Path(__file__).parent / "data" / "contacts_fixture.json"


def fact(
    cid: str,
    name: str,
    email: str | None = None,
    phone: str | None = None,
    address: str | None = None,
    number: str | None = None,
    counts: dict[str, int] | None = None,
    keys: tuple[str, ...] = (),
    updated: datetime | None = None,
    status: str = "ACTIVE",
) -> ContactFacts:
    return ContactFacts(
        XeroContact(cid, name, email, number, status),
        phones=(phone,) if phone else (),
        address=address,
        invoice_counts=counts or {},
        updated_at=updated,
        client_keys=keys,
    )


def groups(clusters: list[Any], grades: tuple[str, ...] = ("exact", "likely")) -> list[set[str]]:
    return [{m.contact_id for m in c.members} for c in clusters if c.grade in grades]


# -- unit: what counts as the same customer -------------------------------------------------


def test_business_name_variants_form_one_cluster() -> None:
    facts = [
        fact("a", "Acme Plumbing Pty Ltd", "jobs@acme.example"),
        fact("b", "ACME PLUMBING."),
        fact("c", "Acme Plumbing 1", None, "02 9123 4567"),
        fact("d", "Acme  & Sons Plumbing", "other@acme-sons.example"),
        fact("e", "Bright Sparks Electrical"),
    ]
    assert groups(find_clusters(facts)) == [{"a", "b", "c"}]


def test_whitespace_inside_a_name_and_a_squashed_company_suffix() -> None:
    facts = [
        fact("a", "Morgan Drainage Pty Limited"),
        fact("b", "Morgan Drainage PtyLimited"),
        fact("c", "MorganDrainage"),
    ]
    assert groups(find_clusters(facts)) == [{"a", "b", "c"}]


def test_same_email_different_name_is_likely_and_says_why() -> None:
    facts = [fact("a", "Harbour Cafe", "Ops@Harbour.example "), fact("b", "Mia Quinn", "ops@harbour.example")]
    clusters = find_clusters(facts)
    assert [c.grade for c in clusters] == ["likely"]
    assert "same email" in clusters[0].pairs[0].reason


def test_same_phone_in_different_formats() -> None:
    facts = [fact("a", "Ruby Kelly", phone="+61 412 345 678"), fact("b", "Kelly Tiling", phone="(0412) 345678")]
    clusters = find_clusters(facts)
    assert groups(clusters) == [{"a", "b"}]
    assert clusters[0].pairs[0].reason.startswith("same phone")
    assert normalise_phone("(02) 9123-4567") == normalise_phone("+61 2 9123 4567") == "+61291234567"


def test_same_name_with_different_email_and_address_is_not_proposed() -> None:
    facts = [
        fact("a", "Mr & Mrs Smith", "smiths@one.example", address="1 King St, Ryde"),
        fact("b", "Mr and Mrs Smith 1", "smithfamily@two.example", address="9 Beach St, Manly"),
    ]
    assert groups(find_clusters(facts)) == []
    assert groups(find_clusters(facts, min_score=40), ("possible",)) == [{"a", "b"}]


def test_a_household_sharing_an_email_is_only_possible() -> None:
    shared = "office@smithfamily.example"
    facts = [fact("a", "John Smith", shared), fact("b", "Jane Smith", shared)]
    clusters = find_clusters(facts)
    assert [c.grade for c in clusters] == ["possible"]


def test_different_people_with_the_same_surname_are_not_clustered() -> None:
    facts = [
        fact("a", "Joan Smith", "joan@x.example", "0400 111 222"),
        fact("b", "John Smith", "john@y.example", "0400 333 444"),
    ]
    assert find_clusters(facts) == []


def test_a_detail_less_contact_does_not_bridge_two_customers() -> None:
    facts = [
        fact("base", "Wood Glazing", "wood@glazing.example"),
        fact("dup", "WoodGlazing"),
        fact("other", "Wood Glazing 1", "someone@else.example"),
    ]
    clusters = find_clusters(facts)
    assert groups(clusters) == []
    assert groups(clusters, ("possible",)) == [{"base", "dup", "other"}]


def test_client_map_and_contact_number_are_identity() -> None:
    facts = [fact("a", "Totally Different", number="csv:C7"), fact("b", "Other Name", keys=("csv:C7",))]
    clusters = find_clusters(facts)
    assert [(c.grade, c.pairs[0].score) for c in clusters] == [("exact", 100)]


def test_keep_separate_pair_is_never_proposed() -> None:
    facts = [fact("a", "Acme Plumbing", "x@acme.example"), fact("b", "Acme Plumbing Ltd", "x@acme.example")]
    assert groups(find_clusters(facts)) == [{"a", "b"}]
    assert find_clusters(facts, keep_separate=[("b", "a")]) == []


def test_grades_exact_likely_and_min_score() -> None:
    facts = [
        fact("a", "Summit Roofing", "r@summit.example"),
        fact("b", "Summit Roofing Pty Ltd", "r@summit.example"),
        fact("c", "Apex Tiling"),
        fact("d", "Apex Tiling Co"),  # fuzzy only: 89% → possible
        fact("e", "Valley Pools"),
        fact("f", "Valley Pools Ltd"),
    ]
    clusters = find_clusters(facts)
    assert [(c.grade, {m.contact_id for m in c.members}) for c in clusters] == [
        ("exact", {"a", "b"}),
        ("likely", {"e", "f"}),
        ("possible", {"c", "d"}),
    ]
    assert [c.grade for c in find_clusters(facts, min_score=90)] == ["exact", "likely"]


def test_survivor_most_history_then_no_copy_number_then_oldest() -> None:
    old, new = datetime(2020, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
    best, why = choose_survivor([fact("a", "Acme", counts={"DRAFT": 5}), fact("b", "Acme 1", counts={"PAID": 1})])
    assert (best.contact_id, why) == ("b", "most approved/paid invoices (1)")
    best, why = choose_survivor([fact("a", "Acme 1", updated=old), fact("b", "Acme", updated=new)])
    assert best.contact_id == "b" and "copy number" in why
    best, why = choose_survivor([fact("a", "Acme Ltd", updated=new), fact("b", "Acme", updated=old)])
    assert best.contact_id == "b" and why.startswith("oldest")


def test_blocking_keeps_common_words_cheap_but_still_finds_typos() -> None:
    # 400 different "... Plumbing" businesses make "plumbing" an oversized block; a typo pair must survive.
    facts = [fact(f"p{i}", f"Trader{i:03d}x Plumbing", f"p{i}@t.example") for i in range(400)]
    facts += [fact("t1", "Northside Plumbing Services"), fact("t2", "Northside Plumbng Services")]
    started = time.perf_counter()
    clusters = find_clusters(facts)
    assert time.perf_counter() - started < 2
    assert groups(clusters) == [{"t1", "t2"}]
    assert all(c.members[0].contact_id.startswith("t") for c in clusters)


# -- the fixture, through the sandbox ------------------------------------------------------------


def _load(sandbox: XeroSandbox, rows: list[dict[str, Any]]) -> dict[str, str]:
    """PUT the fixture in batches of 100; returns ContactID -> fixture entity."""
    session = requests.Session()
    session.headers.update(
        {"Authorization": "Bearer sandbox", "xero-tenant-id": sandbox.tenant_id, "Accept": "application/json"}
    )
    entity: dict[str, str] = {}
    for start in range(0, len(rows), 100):
        batch = rows[start : start + 100]
        body = {"Contacts": [{k: v for k, v in r.items() if k not in ("entity", "kind", "key")} for r in batch]}
        answer = session.put(sandbox.api_url + "/Contacts", params={"summarizeErrors": "false"}, json=body, timeout=30)
        answer.raise_for_status()
        for row, made in zip(batch, answer.json()["Contacts"], strict=True):
            assert made["StatusAttributeString"] == "OK", made
            entity[made["ContactID"]] = row["entity"]
    return entity


def test_fixture_precision_and_recall_through_the_sandbox() -> None:
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))["contacts"]
    kinds = {r["kind"] for r in rows}
    assert len(rows) >= 2000
    assert {
        "case",
        "whitespace",
        "punctuation",
        "suffix",
        "copy_number",
        "same_email",
        "same_phone",
        "lookalike_surname",
        "lookalike_same_name",
    } <= kinds
    with XeroSandbox(port=0) as sandbox:
        entity = _load(sandbox, rows)
        for seeded in sandbox.contacts():  # the sandbox's own contacts are customers of their own
            entity.setdefault(seeded["ContactID"], "seed:" + seeded["ContactID"])
        admin = ContactsAdmin(sandbox.api_url, sandbox.tenant_id, static_token_provider("sandbox"))
        facts = contact_facts(admin.all_contacts(include_archived=False), admin.invoice_stats(), {})
        assert admin.calls == {"GET /Contacts": 3, "GET /Invoices": 1}
    assert len(facts) == len(rows) + 4  # four active seed contacts
    clusters = find_clusters(facts)
    found = pairwise(clusters)
    members: dict[str, list[str]] = defaultdict(list)
    for contact_id, who in entity.items():
        members[who].append(contact_id)
    truth = {frozenset(p) for ids in members.values() for p in itertools.combinations(ids, 2)}
    hits = len(found & truth)
    precision, recall = hits / len(found), hits / len(truth)
    print(
        f"\ndedupe fixture: {len(facts)} contacts, {len(truth)} true pairs, {len(found)} proposed; "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
    assert precision >= 0.95, precision
    assert recall >= 0.9, recall
