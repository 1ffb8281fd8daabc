"""Why a client's contact cannot be decided, in words that name the real cause and its one-line fixes.

Also the run's own new contacts: two clients with one name in a single run become one contact when
nothing says they are different people, and the second is held (never sent to be refused by Xero's
unique-name rule) when something does. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from jobsync.core.contact_match import describe_candidates, identities_conflict, identity, normalise_name
from jobsync.core.models import ContactDecision
from jobsync.core.plan_checks import HoldJob


def fixes(key: str) -> str:
    return (
        f"use one contact: `jobsync contacts map {key} --contact CONTACT_ID`; or create the client's own:"
        f' `jobsync contacts map {key} --new-name "NAME"`'
    )


def contact_hold(decision: ContactDecision, client_name: str) -> HoldJob:
    """The HoldJob for an AMBIGUOUS decision, worded by its cause."""
    who = describe_candidates(decision.candidates)
    this = identity(decision.email, decision.phone)
    reasons = {
        "email": f"client {client_name!r}'s email {decision.email} is on several Xero contacts: {who}",
        "name": f"client {client_name!r}'s name is on several Xero contacts: {who}",
        "number": f"client {client_name!r}'s ContactNumber is on several Xero contacts: {who}",
        "name_taken": f"the name {client_name!r} is held in Xero by another contact ({who}); this job's client"
        f" is {this}",
        "lookalike": f"client {client_name!r} looks like an existing Xero contact under another spelling: {who}",
        "new_name_taken": f"the new name {decision.name!r} chosen for this client is taken in Xero: {who}",
    }
    reason = reasons.get(decision.cause, f"client {client_name!r} matches more than one Xero contact: {who}")
    return HoldJob(reason, fixes(decision.client_key), decision.candidates)


@dataclass
class NewContacts:
    """The contacts this run will create, by name, so one name never goes to Xero for two people."""

    by_name: dict[str, ContactDecision] = field(default_factory=dict)

    def claim(self, decision: ContactDecision) -> ContactDecision:
        """This NEW decision as the run will carry it out; HoldJob when its name is another client's."""
        name = normalise_name(decision.name)
        first = self.by_name.get(name)
        if first is None:
            self.by_name[name] = decision
            return decision
        if first.client_key == decision.client_key:
            return decision
        if identities_conflict(first, decision):
            raise HoldJob(
                f"the name {decision.name!r} is held by another client ({identity(first.email, first.phone)});"
                f" this job's client is {identity(decision.email, decision.phone)}",
                fixes(decision.client_key),
            )
        # The same client entered twice in the job system: one contact, under the first client's key.
        return replace(decision, client_key=first.client_key)
