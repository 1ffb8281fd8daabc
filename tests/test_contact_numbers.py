"""ContactNumbers are tidy and stable; contacts made under 0.1.0's form still match, so no client gets two."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from jobsync.core.contact_numbers import CONTACT_NUMBER_MAX, contact_number, forms
from jobsync.sandbox.xero.server import XeroSandbox
from jobsync.xero.client import XeroClient
from jobsync.xero.gateway import NewContact
from tests.test_names_and_kinds import _workdir
from tests.test_names_and_kinds_data import LABOUR_ROW


def test_codes_read_as_codes_and_carry_a_hash_when_the_tidy_form_could_collide() -> None:
    assert contact_number("csv:C-1005") == "CSV-C-1005"
    assert contact_number("servicem8:7f3a9c2e-0b1d").startswith("SERVICEM8-7F3A9C2E-0B1D-")
    tidy = contact_number("csv:marrickville dental care")
    assert tidy.startswith("CSV-MARRICKVILLE-DENTAL-CARE-") and tidy == contact_number("csv:marrickville dental care")
    assert contact_number("csv:a b") != contact_number("csv:a-b")
    assert contact_number("csv:abc") != contact_number("csv:ABC")
    assert forms("csv:C-1005") == ("CSV-C-1005", "csv:C-1005")


@given(st.text(min_size=1, max_size=80), st.text(min_size=1, max_size=80))
def test_two_keys_never_share_a_number_and_none_is_too_long(a: str, b: str) -> None:
    left, right = contact_number(f"csv:{a}"), contact_number(f"csv:{b}")
    assert len(left) <= CONTACT_NUMBER_MAX and len(right) <= CONTACT_NUMBER_MAX
    assert a == b or left != right


def test_a_contact_made_under_the_old_form_is_still_this_clients_contact(tmp_path: Path) -> None:
    with XeroSandbox(port=0) as sandbox:
        gateway = XeroClient(sandbox.api_url, sandbox.tenant_id, lambda: "sandbox")
        # 0.1.0 created the contact with the client key as its number; then the state file was lost.
        [old] = gateway.create_contacts([NewContact(name="Client One (old)", contact_number="csv:C1")])
        work = _workdir(tmp_path, sandbox)
        work.write_jobs([LABOUR_ROW])
        assert work.cli("run").exit_code == 0
        [invoice] = sandbox.invoices()
        assert invoice["Contact"]["ContactID"] == old.id
        assert not [c for c in sandbox.contacts() if c.get("ContactNumber") == "CSV-C1"]  # no second contact
