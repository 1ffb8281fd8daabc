"""Applying and undoing a dedupe against the sandbox, through xero-python and the real CLI."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from typer.testing import CliRunner

from jobsync.app.dedupe_apply import (
    appliable,
    apply_clusters,
    keep_separate,
    survey,
    undo,
)
from jobsync.cli.contacts import contacts_app
from jobsync.core.errors import ConfigError, JobsyncError
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.state.store import State
from jobsync.xero.auth import static_token_provider
from jobsync.xero.contacts_admin import ContactsAdmin
from tests.e2e import make_workdir

SERVER_STAMPED = ("UpdatedDateUTC", "UpdatedDateUTCString")


class Org:
    """A sandbox with one messy customer: Acme, entered three times."""

    def __init__(self, sandbox: XeroSandbox) -> None:
        self.sandbox = sandbox
        self.http = requests.Session()
        self.http.headers.update(
            {"Authorization": "Bearer sandbox", "xero-tenant-id": sandbox.tenant_id, "Accept": "application/json"}
        )
        self.survivor = self.contact({"Name": "Acme Plumbing Pty Ltd"})
        self.spare = self.contact(
            {
                "Name": "Acme Plumbing 1",
                "EmailAddress": "jobs@acme.example",
                "ContactNumber": "csv:C1",
                "Phones": [{"PhoneType": "DEFAULT", "PhoneNumber": "0412 345 678"}],
            }
        )
        self.billed = self.contact({"Name": "ACME PLUMBING."})
        for _ in range(2):
            self.invoice(self.survivor, "AUTHORISED")
        self.invoice(self.billed, "AUTHORISED")
        self.draft = self.invoice(self.spare, "DRAFT")

    def put(self, path: str, key: str, element: dict[str, Any]) -> str:
        answer = self.http.put(
            self.sandbox.api_url + path, params={"summarizeErrors": "false"}, json={key: [element]}, timeout=10
        )
        answer.raise_for_status()
        made = answer.json()[key][0]
        assert made["StatusAttributeString"] == "OK", made
        return str(made["ContactID" if key == "Contacts" else "InvoiceID"])

    def contact(self, fields: dict[str, Any]) -> str:
        return self.put("/Contacts", "Contacts", fields)

    def invoice(self, contact_id: str, status: str) -> str:
        line = {"Description": "Labour", "Quantity": 1, "UnitAmount": 100, "AccountCode": "200", "TaxType": "OUTPUT"}
        return self.put(
            "/Invoices",
            "Invoices",
            {
                "Type": "ACCREC",
                "Contact": {"ContactID": contact_id},
                "Status": status,
                "Date": "2026-11-01",
                "DueDate": "2026-11-15",
                "LineItems": [line],
            },
        )

    def by_id(self, contact_id: str) -> dict[str, Any]:
        return next(c for c in self.sandbox.contacts() if c["ContactID"] == contact_id)

    def snapshot(self) -> dict[str, Any]:
        """Contacts and invoices field by field, minus server stamps; "" and [] are Xero's "absent"."""

        def clean(row: dict[str, Any]) -> dict[str, Any]:
            return {
                k: clean(v) if isinstance(v, dict) else v
                for k, v in row.items()
                if k not in SERVER_STAMPED and v not in ("", [], None)
            }

        return {
            "contacts": sorted((clean(c) for c in self.sandbox.contacts()), key=lambda c: c["ContactID"]),
            "invoices": sorted((clean(i) for i in self.sandbox.invoices()), key=lambda i: i["InvoiceID"]),
        }


@pytest.fixture
def org() -> Iterator[Org]:
    with XeroSandbox(port=0) as sandbox:
        yield Org(sandbox)


@pytest.fixture
def state(tmp_path: Path) -> Iterator[State]:
    with State.open(tmp_path / "state.db") as opened:
        yield opened


def admin_for(org: Org) -> ContactsAdmin:
    return ContactsAdmin(org.sandbox.api_url, org.sandbox.tenant_id, static_token_provider("sandbox"))


def test_apply_cleans_up_and_undo_restores_everything(org: Org, state: State) -> None:
    state.map_client("csv:C1", org.spare)
    state.map_client("csv:C9", org.survivor)
    before, map_before = org.snapshot(), state.whole_client_map()
    admin = admin_for(org)
    found = survey(admin, state)
    chosen = appliable(found.clusters)
    assert [{m.contact_id for m in c.members} for c in chosen] == [{org.survivor, org.spare, org.billed}]
    assert chosen[0].survivor == org.survivor  # two approved invoices: the most history

    result = apply_clusters(admin, state, found, chosen)

    assert org.by_id(org.spare)["ContactStatus"] == "ARCHIVED"
    assert org.by_id(org.billed)["ContactStatus"] == "ACTIVE"  # it has an approved invoice
    assert org.by_id(org.survivor)["ContactStatus"] == "ACTIVE"
    kept = org.by_id(org.survivor)
    assert (kept["EmailAddress"], kept["ContactNumber"]) == ("jobs@acme.example", "csv:C1")
    assert kept["Phones"][0]["PhoneNumber"] == "0412 345 678"
    moved = next(i for i in org.sandbox.invoices() if i["InvoiceID"] == org.draft)
    assert moved["Contact"]["ContactID"] == org.survivor
    assert state.whole_client_map() == {"csv:C1": org.survivor, "csv:C9": org.survivor}
    [outcome] = result.outcomes
    assert len(outcome.advice) == 1 and org.billed in outcome.advice[0] and "Merge" in outcome.advice[0]
    assert result.calls["POST /Invoices/{id}"] == 1 and result.calls["POST /Contacts/{id}"] == 2

    done = undo(admin, state, result.run_id)

    assert len(done) == 4
    assert org.snapshot() == before
    assert state.whole_client_map() == map_before
    with pytest.raises(JobsyncError, match="undone already"):
        undo(admin, state, result.run_id)
    with pytest.raises(ConfigError):
        undo(admin, state, "no-such-run")


def test_reads_cost_one_call_per_thousand(org: Org, state: State) -> None:
    admin = admin_for(org)
    found = survey(admin, state, include_archived=True)
    assert found.calls == {"GET /Contacts": 1, "GET /Invoices": 1}
    counts = {f.contact_id: (dict(f.invoice_counts), str(f.balance)) for f in found.facts}
    assert counts[org.survivor] == ({"AUTHORISED": 2}, "220.00")
    assert counts[org.spare] == ({"DRAFT": 1}, "0")
    assert any(f.contact.status == "ARCHIVED" for f in found.facts)  # the seed's Old Client Ltd


def test_keep_separate_is_remembered_and_respected(org: Org, state: State) -> None:
    admin = admin_for(org)
    assert keep_separate(state, org.survivor, org.spare) is True
    assert keep_separate(state, org.spare.upper(), org.survivor) is False
    keep_separate(state, org.survivor, org.billed)
    keep_separate(state, org.billed, org.spare)
    assert appliable(survey(admin, state).clusters) == []
    with pytest.raises(ConfigError):
        keep_separate(state, org.spare, org.spare)


def test_cli_dry_run_apply_and_undo(org: Org, tmp_path: Path) -> None:
    config = make_workdir(tmp_path, org.sandbox).config  # the e2e tests' config: static token, state.db
    before = org.snapshot()
    cli = CliRunner()

    dry = cli.invoke(contacts_app, ["dedupe", "--json", "--config", str(config)])
    assert dry.exit_code == 0, dry.output
    doc = json.loads(dry.stdout)
    assert [c["grade"] for c in doc["clusters"]] == ["likely", "possible"]  # Acme; John and Jane Smith
    assert doc["clusters"][0]["survivor"] == org.survivor
    assert org.snapshot() == before

    refused = cli.invoke(contacts_app, ["dedupe", "--apply", "--json", "--config", str(config)])
    assert refused.exit_code == 2 and "--yes" in refused.output

    applied = cli.invoke(contacts_app, ["dedupe", "--apply", "--yes", "--json", "--config", str(config)])
    assert applied.exit_code == 0, applied.output
    run_id = json.loads(applied.stdout)["run_id"]
    assert org.by_id(org.spare)["ContactStatus"] == "ARCHIVED"
    assert org.by_id(org.billed)["ContactStatus"] == "ACTIVE"

    undone = cli.invoke(contacts_app, ["undo", run_id, "--config", str(config)])
    assert undone.exit_code == 0, undone.output
    assert org.snapshot() == before

    table = cli.invoke(contacts_app, ["dedupe", "--config", str(config)])
    assert table.exit_code == 0 and "Acme Plumbing Pty Ltd" in table.stdout and "likely" in table.stdout

    again = cli.invoke(contacts_app, ["undo", run_id, "--config", str(config)])
    assert again.exit_code == 1 and "undone already" in again.output


def test_a_refusal_mid_apply_names_the_run_and_undo_reverses_what_was_done(org: Org, state: State) -> None:
    state.map_client("csv:C1", org.spare)
    before, map_before = org.snapshot(), state.whole_client_map()
    admin = ContactsAdmin(org.sandbox.api_url, org.sandbox.tenant_id, static_token_provider("sandbox"), max_retries=0)
    found = survey(admin, state)
    org.sandbox.faults.fail_next("POST", "/api.xro/2.0/Contacts", status=503)  # the field copy fails

    with pytest.raises(JobsyncError) as refused:
        apply_clusters(admin, state, found, appliable(found.clusters))

    hint = refused.value.problems[-1]
    run_id = hint.split("dedupe run ")[1].split(":")[0]
    moved = next(i for i in org.sandbox.invoices() if i["InvoiceID"] == org.draft)
    assert moved["Contact"]["ContactID"] == org.survivor  # done before the refusal
    assert org.by_id(org.spare)["ContactStatus"] == "ACTIVE"  # never reached
    assert undo(admin, state, run_id) == [
        f"draft {org.draft} moved back to {org.spare}",
        f"client csv:C1 maps to {org.spare} again",
    ]
    assert org.snapshot() == before
    assert state.whole_client_map() == map_before
