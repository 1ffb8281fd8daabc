"""Reading an organisation for dedupe, applying chosen clusters to Xero, and undoing a run.

Xero has no merge endpoint, so a cluster is cleaned up with the moves the API does allow, each
recorded in an undo log as soon as Xero confirms it: jobsync's client map is repointed to the
survivor, DRAFT invoices move to the survivor, details the survivor lacks are copied to it, and a
duplicate is archived only when it has no approved or paid history and nothing outstanding.
Anything else needs Xero's own merge, and the user is told so.

The undo log and the keep-separate pairs live in the state file's cache table (JSON values under
`dedupe:` keys), with each change also in the actions log. That keeps everything jobsync
remembers in the one 0600 file that is backed up and locked together, with no schema change to a
module this one does not own.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from jobsync.core.dedupe import DEFAULT_MIN_SCORE, Cluster, ContactFacts, find_clusters
from jobsync.core.errors import ConfigError, JobsyncError
from jobsync.state.store import State
from jobsync.xero import wire
from jobsync.xero.contacts_admin import ContactsAdmin, InvoiceStats, address_text, phone_texts, updated_at

UNDO_PREFIX = "dedupe:undo:"
KEEP_KEY = "dedupe:keep-separate"
WHO = "jobsync contacts"
APPLIED_GRADES = ("exact", "likely")  # "possible" clusters are shown for review, never applied


@dataclass
class Survey:
    """One read of the organisation and what dedupe found in it."""

    clusters: list[Cluster]
    facts: list[ContactFacts]
    raw: dict[str, dict[str, Any]]  # ContactID -> Xero's JSON
    client_map: dict[str, str]
    calls: dict[str, int] = field(default_factory=dict)


@dataclass
class ClusterOutcome:
    survivor: str
    done: list[str] = field(default_factory=list)  # what was changed, in words
    advice: list[str] = field(default_factory=list)  # what the user must do in Xero


@dataclass
class ApplyResult:
    run_id: str
    outcomes: list[ClusterOutcome]
    calls: dict[str, int]


# -- the state file's share ---------------------------------------------------


def keep_separate_pairs(state: State) -> list[tuple[str, str]]:
    return [(a, b) for a, b in json.loads(state.cache_get(KEEP_KEY) or "[]")]


def keep_separate(state: State, a: str, b: str) -> bool:
    """Record that contacts a and b are two customers; False when it was recorded already."""
    a, b = sorted((a.strip().lower(), b.strip().lower()))
    if not a or not b or a == b:
        raise ConfigError("keep-separate needs two different ContactIDs", ["copy them from `contacts dedupe`"])
    pairs = keep_separate_pairs(state)
    if (a, b) in pairs:
        return False
    with state.transaction():
        state.cache_put(KEEP_KEY, json.dumps(sorted([*pairs, (a, b)])))
        state.record_action(WHO, "keep-separate", None, None, json.dumps([a, b]))
    return True


# -- reading -----------------------------------------------------------------


def survey(
    admin: ContactsAdmin, state: State, min_score: int = DEFAULT_MIN_SCORE, include_archived: bool = False
) -> Survey:
    raws = admin.all_contacts(include_archived)
    stats = admin.invoice_stats()
    client_map = state.whole_client_map()
    facts = contact_facts(raws, stats, client_map)
    clusters = find_clusters(facts, min_score=min_score, keep_separate=keep_separate_pairs(state))
    return Survey(clusters, facts, {r["ContactID"]: r for r in raws}, client_map, admin.calls)


def contact_facts(
    raws: Sequence[Mapping[str, Any]], stats: Mapping[str, InvoiceStats], client_map: Mapping[str, str]
) -> list[ContactFacts]:
    """Xero's JSON plus the invoice tally and jobsync's client map → what dedupe weighs."""
    keys_by_contact: dict[str, list[str]] = {}
    for key, contact_id in client_map.items():
        keys_by_contact.setdefault(contact_id, []).append(key)
    facts = []
    for raw in raws:
        contact = wire.parse_contact(raw)
        entry = stats.get(contact.contact_id, InvoiceStats())
        facts.append(
            ContactFacts(
                contact=contact,
                phones=phone_texts(raw),
                address=address_text(raw),
                invoice_counts=dict(entry.counts),
                balance=entry.balance,
                updated_at=updated_at(raw),
                client_keys=tuple(sorted(keys_by_contact.get(contact.contact_id, ()))),
                draft_invoice_ids=tuple(entry.drafts),
            )
        )
    return facts


def appliable(clusters: Iterable[Cluster]) -> list[Cluster]:
    return [c for c in clusters if c.grade in APPLIED_GRADES]


# -- applying ----------------------------------------------------------------


class UndoLog:
    """The run's undo entries, saved after every confirmed change so a crash loses none."""

    def __init__(self, state: State, run_id: str, clock: Callable[[], datetime]) -> None:
        self.state, self.run_id = state, run_id
        self.doc: dict[str, Any] = {"run_id": run_id, "at": clock().isoformat(), "undone": False, "entries": []}

    def add(self, entry: dict[str, Any]) -> None:
        self.doc["entries"].append(entry)
        self.state.cache_put(UNDO_PREFIX + self.run_id, json.dumps(self.doc))
        self.state.record_action(WHO, f"dedupe {entry['op']}", None, None, json.dumps({"run": self.run_id, **entry}))


def apply_clusters(
    admin: ContactsAdmin,
    state: State,
    found: Survey,
    clusters: Sequence[Cluster],
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> ApplyResult:
    """Apply each cluster under the run lock, so no sync run sees a half-moved contact."""
    run_id = clock().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    log = UndoLog(state, run_id, clock)
    outcomes = []
    with state.lock():
        for cluster in clusters:
            try:
                outcomes.append(_apply_one(admin, state, found, cluster, log))
            except JobsyncError as exc:
                # Stop at the first refusal: what went before is logged and can be undone.
                exc.problems.append(
                    f"changes made before this are in dedupe run {run_id}: "
                    f"`jobsync contacts undo {run_id}` reverses them"
                )
                raise
    return ApplyResult(run_id, outcomes, admin.calls)


def _apply_one(admin: ContactsAdmin, state: State, found: Survey, cluster: Cluster, log: UndoLog) -> ClusterOutcome:
    outcome = ClusterOutcome(cluster.survivor)
    survivor = next(m for m in cluster.members if m.contact_id == cluster.survivor)
    if survivor.contact.status != "ACTIVE":
        outcome.advice.append(f"survivor {survivor.contact.name} is {survivor.contact.status}: nothing applied")
        return outcome
    sid = survivor.contact_id
    for dup in cluster.duplicates:
        for key in dup.client_keys:
            state.map_client(key, sid)
            log.add({"op": "map", "key": key, "before": dup.contact_id, "after": sid})
            outcome.done.append(f"client {key} now maps to {survivor.contact.name}")
        for invoice_id in dup.draft_invoice_ids:
            admin.move_invoice(invoice_id, sid)
            log.add({"op": "move", "invoice": invoice_id, "from": dup.contact_id, "to": sid})
            outcome.done.append(f"draft {invoice_id} moved from {dup.contact.name}")
    archivable = [d for d in cluster.duplicates if _may_archive(d)]
    _copy_missing(
        admin,
        found.raw[sid],
        [found.raw[d.contact_id] for d in cluster.duplicates],
        {d.contact_id for d in archivable},
        log,
        outcome,
    )
    for dup in cluster.duplicates:
        if dup not in archivable:
            outcome.advice.append(_merge_advice(dup, survivor))
        elif dup.contact.status == "ACTIVE":
            admin.set_contact_status(dup.contact_id, "ARCHIVED")
            log.add({"op": "archive", "contact": dup.contact_id})
            outcome.done.append(f"archived {dup.contact.name}")
    return outcome


def _may_archive(dup: ContactFacts) -> bool:
    return dup.history == 0 and dup.balance == 0


def _merge_advice(dup: ContactFacts, survivor: ContactFacts) -> str:
    why = []
    if dup.history:
        why.append(f"{dup.history} approved/paid invoice(s)")
    if dup.balance:
        why.append(f"{dup.balance} outstanding")
    return (
        f"{dup.contact.name} ({dup.contact_id}) has {' and '.join(why)}, which the API cannot move: "
        f"merge it into {survivor.contact.name} in Xero (Contacts → Options → Merge)"
    )


def _copy_missing(
    admin: ContactsAdmin,
    survivor: Mapping[str, Any],
    dups: list[Mapping[str, Any]],
    archivable: set[str],
    log: UndoLog,
    outcome: ClusterOutcome,
) -> None:
    """Email, phones and ContactNumber the survivor lacks, from the first duplicate that has them.

    ContactNumber comes only from a duplicate being archived: two active contacts sharing one
    would make the sync's resolver hold that client as ambiguous.
    """
    after: dict[str, Any] = {}
    if not survivor.get("EmailAddress"):
        after.update(next(({"EmailAddress": d["EmailAddress"]} for d in dups if d.get("EmailAddress")), {}))
    if not any(p.get("PhoneNumber") for p in survivor.get("Phones") or ()):
        after.update(next(({"Phones": d["Phones"]} for d in dups if _has_phone(d)), {}))
    if not survivor.get("ContactNumber"):
        numbered = (d for d in dups if d.get("ContactNumber") and d["ContactID"] in archivable)
        after.update(next(({"ContactNumber": d["ContactNumber"]} for d in numbered), {}))
    if not after:
        return
    # "" and [] clear a field in Xero; they are what "absent" is restored as.
    before = {k: survivor.get(k) or ([] if k == "Phones" else "") for k in after}
    admin.update_contact(survivor["ContactID"], after)
    log.add({"op": "fields", "contact": survivor["ContactID"], "before": before, "after": after})
    outcome.done.append(f"copied {', '.join(sorted(after))} to {survivor.get('Name')}")


def _has_phone(raw: Mapping[str, Any]) -> bool:
    return any(p.get("PhoneNumber") for p in raw.get("Phones") or ())


# -- undoing -----------------------------------------------------------------


def undo(admin: ContactsAdmin, state: State, run_id: str) -> list[str]:
    """Reverse a run's changes, newest first (so a duplicate is unarchived before drafts go back)."""
    text = state.cache_get(UNDO_PREFIX + run_id)
    if text is None:
        hint = ["use the run id that `contacts dedupe --apply` printed"]
        raise ConfigError(f"no dedupe run {run_id!r} in {state.path}", hint)
    doc = json.loads(text)
    if doc.get("undone"):
        raise JobsyncError(f"dedupe run {run_id} was undone already")
    done: list[str] = []
    with state.lock():
        for entry in reversed(doc["entries"]):
            done.append(_reverse(admin, state, entry))
        doc["undone"] = True
        state.cache_put(UNDO_PREFIX + run_id, json.dumps(doc))
        state.record_action(WHO, "dedupe undo", None, None, json.dumps({"run": run_id, "entries": len(done)}))
    return done


def _reverse(admin: ContactsAdmin, state: State, entry: Mapping[str, Any]) -> str:
    op = entry["op"]
    if op == "map":
        state.map_client(entry["key"], entry["before"])
        return f"client {entry['key']} maps to {entry['before']} again"
    if op == "move":
        admin.move_invoice(entry["invoice"], entry["from"])
        return f"draft {entry['invoice']} moved back to {entry['from']}"
    if op == "fields":
        admin.update_contact(entry["contact"], entry["before"])
        return f"restored {', '.join(sorted(entry['before']))} on {entry['contact']}"
    if op == "archive":
        admin.set_contact_status(entry["contact"], "ACTIVE")
        return f"unarchived {entry['contact']}"
    raise JobsyncError(f"unknown undo entry {op!r}")
