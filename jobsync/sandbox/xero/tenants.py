"""The organisations one sandbox serves, as Xero serves many behind one app: each has its own data,
its own rate limits (the limiter counts by tenant id) and its own connection, and the app's tokens
reach every organisation it is connected to.

The first organisation is the sandbox's own (`xero_state.json`); the others are kept beside it under
`tenants/<tenant id>.json` when the sandbox has a data directory.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from jobsync.runtime.private_files import write_private
from jobsync.sandbox.xero.encoding import dumps, loads
from jobsync.sandbox.xero.store import OrgState, load_seed, save_state

TENANTS_DIR = "tenants"


class Tenants:
    """Tenant id (lower case, as the API compares it) -> that organisation's state."""

    def __init__(self, primary: OrgState, data_dir: str | None) -> None:
        self.primary = primary
        self.data_dir = data_dir
        self._orgs: dict[str, OrgState] = {primary.tenant_id.lower(): primary}
        if data_dir:
            for path in sorted((Path(data_dir) / TENANTS_DIR).glob("*.json")):
                org = OrgState.from_json(loads(path.read_text("utf-8")))
                self._orgs[org.tenant_id.lower()] = org

    def add(self, name: str, tenant_id: str | None = None) -> OrgState:
        """A new organisation seeded like the sandbox's own, with its own ids, name and numbering."""
        tenant = (tenant_id or str(uuid.uuid5(uuid.NAMESPACE_URL, f"jobsync-sandbox:{name}"))).lower()
        if tenant in self._orgs:
            return self._orgs[tenant]
        org = load_seed()
        org.tenant_id, org.tenant_name = tenant, name
        org.organisation = {
            **org.organisation,
            "Name": name,
            "LegalName": name,
            "OrganisationID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"jobsync-sandbox-org:{tenant}")),
        }
        self._orgs[tenant] = org
        self.save(org)
        return org

    def get(self, tenant: str) -> OrgState | None:
        return self._orgs.get(tenant.strip().lower())

    def ids(self) -> list[str]:
        return list(self._orgs)

    def name_of(self, tenant: str) -> str:
        org = self.get(tenant)
        return org.tenant_name if org is not None else ""

    def save(self, org: OrgState) -> None:
        if not self.data_dir:
            return
        if org is self.primary:
            save_state(org, self.data_dir)
            return
        write_private(Path(self.data_dir) / TENANTS_DIR / f"{org.tenant_id}.json", dumps(org.to_json()))
