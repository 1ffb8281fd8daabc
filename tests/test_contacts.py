from __future__ import annotations

from jobsync.core.contact_match import business_key, client_key, decide, normalise_email, normalise_name
from jobsync.core.models import Client, ContactSnapshot, DecisionKind, XeroContact


def snap(*contacts: XeroContact, mapping: dict[str, str] | None = None) -> ContactSnapshot:
    return ContactSnapshot(client_map=mapping or {}, contacts=contacts)


ACME = Client(id="C1", name="Acme  Plumbing", email="Accounts@Acme.com")


def test_client_key_and_truncation() -> None:
    assert client_key("csv", ACME) == "csv:C1"
    long_a = Client(id="x" * 60 + "A", name="n")
    long_b = Client(id="x" * 60 + "B", name="n")
    ka, kb = client_key("servicem8", long_a), client_key("servicem8", long_b)
    assert len(ka) == 50 and len(kb) == 50
    assert ka != kb
    assert ka == client_key("servicem8", long_a)  # deterministic
    assert ka.startswith("servicem8:xxxx")


def test_normalisers() -> None:
    assert normalise_name("  ACME \t Plumbing ") == "acme plumbing"
    assert normalise_email("  A@B.COM ") == "a@b.com"
    assert normalise_email("  ") is None
    assert business_key("Acme Plumbing Pty. Ltd. (2)") == "acme plumbing"
    assert business_key("Smith & Sons Limited 1") == "smith and sons"
    assert business_key("Smith and Sons") == "smith and sons"
    assert business_key("Route 66 Garage") == "route 66 garage"


def test_map_wins_over_everything() -> None:
    mapped = XeroContact("id-map", "Totally Different Name")
    by_email = XeroContact("id-email", "Acme Plumbing", email="accounts@acme.com")
    d = decide("csv", ACME, snap(by_email, mapped, mapping={"csv:C1": "id-map"}))
    assert (d.kind, d.contact_id, d.matched_by) == (DecisionKind.EXISTING, "id-map", "map")


def test_archived_mapped_contact_falls_through() -> None:
    mapped = XeroContact("id-map", "Acme Old", status="ARCHIVED")
    by_email = XeroContact("id-email", "Acme Plumbing", email="accounts@acme.com")
    d = decide("csv", ACME, snap(mapped, by_email, mapping={"csv:C1": "id-map"}))
    assert (d.kind, d.contact_id, d.matched_by) == (DecisionKind.EXISTING, "id-email", "email")


def test_contact_number_match() -> None:
    c = XeroContact("id-num", "Acme P/L", contact_number="csv:C1")
    other = XeroContact("id-other", "Beta", contact_number="csv:C2")
    d = decide("csv", ACME, snap(other, c))
    assert (d.kind, d.contact_id, d.matched_by) == (DecisionKind.EXISTING, "id-num", "contact_number")


def test_email_case_insensitive() -> None:
    c = XeroContact("id-1", "Acme Pty Ltd", email="ACCOUNTS@acme.COM")
    d = decide("csv", ACME, snap(c))
    assert (d.kind, d.contact_id, d.matched_by) == (DecisionKind.EXISTING, "id-1", "email")


def test_two_active_contacts_share_email_is_ambiguous() -> None:
    a = XeroContact("id-a", "Acme North", email="accounts@acme.com")
    b = XeroContact("id-b", "Acme South", email="Accounts@Acme.com")
    d = decide("csv", ACME, snap(a, b))
    assert d.kind is DecisionKind.AMBIGUOUS
    assert {c.contact_id for c in d.candidates} == {"id-a", "id-b"}
    assert d.contact_id is None


def test_archived_contact_ignored() -> None:
    a = XeroContact("id-a", "Acme North", email="accounts@acme.com")
    b = XeroContact("id-b", "Acme South", email="accounts@acme.com", status="ARCHIVED")
    d = decide("csv", ACME, snap(a, b))
    assert (d.kind, d.contact_id) == (DecisionKind.EXISTING, "id-a")
    only_archived = decide("csv", ACME, snap(b))
    assert only_archived.kind is DecisionKind.NEW


def test_name_match_whitespace_and_case() -> None:
    c = XeroContact("id-n", "acme plumbing")
    d = decide("csv", ACME, snap(c))
    assert (d.kind, d.contact_id, d.matched_by) == (DecisionKind.EXISTING, "id-n", "name")


def test_name_match_with_different_email_is_ambiguous() -> None:
    c = XeroContact("id-n", "ACME PLUMBING", email="boss@elsewhere.com")
    d = decide("csv", ACME, snap(c))
    assert d.kind is DecisionKind.AMBIGUOUS
    assert [x.contact_id for x in d.candidates] == ["id-n"]


def test_two_same_name_contacts_is_ambiguous() -> None:
    nameonly = Client(id="C7", name="Bob Jones")
    d = decide("csv", nameonly, snap(XeroContact("1", "Bob Jones"), XeroContact("2", "bob  jones")))
    assert d.kind is DecisionKind.AMBIGUOUS and len(d.candidates) == 2


def test_new_carries_client_details() -> None:
    c = Client(id="C9", name=" New  Client ", email="n@c.com", phone="0400 000 000")
    d = decide("csv", c, snap(XeroContact("x", "Someone Else", email="s@e.com")))
    assert d.kind is DecisionKind.NEW
    assert (d.name, d.email, d.phone, d.client_key, d.contact_id) == (
        "New Client",
        "n@c.com",
        "0400 000 000",
        "csv:C9",
        None,
    )


def test_find_duplicate_clusters() -> None:
    from jobsync.core.contact_match import find_duplicate_clusters

    a = XeroContact("1", "Acme Plumbing Pty Ltd")
    b = XeroContact("2", "ACME Plumbing (2)", email="x@acme.com")
    c = XeroContact("3", "Totally Other", email="X@Acme.com")  # joins via b's email
    d = XeroContact("4", "Acme Plumbing", status="ARCHIVED")
    e = XeroContact("5", "Beta & Co")
    f = XeroContact("6", "Beta and Co.")
    g = XeroContact("7", "Loner")
    clusters = find_duplicate_clusters([g, a, b, c, d, e, f])
    assert [[x.contact_id for x in cl] for cl in clusters] == [["2", "1", "3"], ["5", "6"]]


def test_same_business_under_another_spelling_is_held_not_created_again() -> None:
    existing = XeroContact("id-acme", "ACME Plumbing Ltd.", "billing@acme.example")
    d = decide("csv", Client("C9", "Acme Plumbing Pty Ltd"), snap(existing))
    assert d.kind is DecisionKind.AMBIGUOUS
    assert [c.contact_id for c in d.candidates] == ["id-acme"]
    other = decide("csv", Client("C10", "Acme Electrical Pty Ltd"), snap(existing))
    assert other.kind is DecisionKind.NEW


def test_numbered_clients_are_not_lookalikes() -> None:
    existing = XeroContact("id-sp1", "Strata Plan 1", "sp1@strata.example")
    d = decide("csv", Client("C11", "Strata Plan 2", "sp2@strata.example"), snap(existing))
    assert d.kind is DecisionKind.NEW
