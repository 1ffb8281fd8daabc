"""How long dedupe takes on a big organisation, and how good it is there.

    PYTHONPATH=. .venv/bin/python benchmarks/dedupe_bench.py [--size 10000] [--sandbox]

Generates an org with the fixture generator (same planted duplicate kinds and look-alikes, new
seed-stable names), clusters it, and prints the clustering time, the pairs compared, precision and
recall. With --sandbox it also loads the org into the Xero sandbox and reads it back the way
`jobsync contacts dedupe` does, printing the read time and the calls made.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "data"))

from make_contacts_fixture import SEED, build  # noqa: E402  (needs the path above)

from jobsync.core.dedupe import ContactFacts, candidate_pairs, find_clusters, pairwise  # noqa: E402
from jobsync.core.dedupe import _features as features_of  # noqa: E402
from jobsync.core.models import XeroContact  # noqa: E402


def facts_from_rows(rows: list[dict[str, Any]]) -> list[ContactFacts]:
    facts = []
    for row in rows:
        phones = tuple(p["PhoneNumber"] for p in row.get("Phones", []))
        address = ", ".join(v for k, v in (row.get("Addresses") or [{}])[0].items() if k != "AddressType")
        contact = XeroContact(row["key"], row["Name"], row.get("EmailAddress"))
        facts.append(ContactFacts(contact, phones, address or None))
    return facts


def score(found: set[frozenset[str]], entity: dict[str, str]) -> tuple[float, float]:
    members: dict[str, list[str]] = defaultdict(list)
    for key, who in entity.items():
        members[who].append(key)
    truth = {frozenset(p) for ids in members.values() for p in itertools.combinations(ids, 2)}
    hits = len(found & truth)
    return hits / max(1, len(found)), hits / max(1, len(truth))


def through_sandbox(rows: list[dict[str, Any]]) -> None:
    import requests

    from jobsync.app.dedupe_apply import contact_facts
    from jobsync.sandbox.xero.server import XeroSandbox
    from jobsync.xero.auth import static_token_provider
    from jobsync.xero.contacts_admin import ContactsAdmin

    with XeroSandbox(port=0) as sandbox:
        http = requests.Session()
        http.headers.update({"Authorization": "Bearer sandbox", "xero-tenant-id": sandbox.tenant_id})
        started = time.perf_counter()
        for start in range(0, len(rows), 100):
            chunk = rows[start : start + 100]
            batch = [{k: v for k, v in r.items() if k not in ("entity", "kind", "key")} for r in chunk]
            http.put(
                sandbox.api_url + "/Contacts",
                params={"summarizeErrors": "false"},
                json={"Contacts": batch},
                timeout=120,
            ).raise_for_status()
        loaded = time.perf_counter() - started
        admin = ContactsAdmin(sandbox.api_url, sandbox.tenant_id, static_token_provider("sandbox"))
        started = time.perf_counter()
        facts = contact_facts(admin.all_contacts(include_archived=True), admin.invoice_stats(), {})
        read = time.perf_counter() - started
        started = time.perf_counter()
        clusters = find_clusters(facts)
        clustered = time.perf_counter() - started
    print(
        f"sandbox: loaded {len(rows)} contacts in {loaded:.1f} s (PUT batches of 100); "
        f"read back in {read:.2f} s with {admin.calls}; clustered in {clustered:.2f} s "
        f"({len(clusters)} clusters)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--sandbox", action="store_true", help="also load into the sandbox and read back")
    args = parser.parse_args()
    rows = build(args.size, args.seed)
    for i, row in enumerate(rows):
        row["key"] = f"c{i:06d}"
    facts = facts_from_rows(rows)
    started = time.perf_counter()
    compared = len(candidate_pairs([features_of(f, "AU") for f in facts]))
    blocking = time.perf_counter() - started
    started = time.perf_counter()
    clusters = find_clusters(facts)
    elapsed = time.perf_counter() - started
    precision, recall = score(pairwise(clusters), {r["key"]: r["entity"] for r in rows})
    grades = {g: sum(1 for c in clusters if c.grade == g) for g in ("exact", "likely", "possible")}
    print(
        f"{len(facts)} contacts: clustered in {elapsed:.2f} s (blocking alone {blocking:.2f} s); "
        f"{compared:,} pairs compared of {len(facts) * (len(facts) - 1) // 2:,}; clusters {grades}; "
        f"precision {precision:.3f}, recall {recall:.3f}"
    )
    if args.sandbox:
        through_sandbox(rows)


if __name__ == "__main__":
    main()
