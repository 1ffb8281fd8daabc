"""Doctor's checks of the mapping rules against the organisation, and of the line types seen."""

from __future__ import annotations

from jobsync.app.doctor_checks import FAIL, OK, SKIP, WARN, Check
from jobsync.app.sync_run import unmapped_kinds
from jobsync.app.wiring import build_source
from jobsync.config.settings import Settings
from jobsync.core import line_kinds
from jobsync.core.errors import JobsyncError
from jobsync.core.models import XeroRefs
from jobsync.core.rule_refs import purpose_doubts, reference_problems, rule_references, tracking_problems
from jobsync.state.store import State


def _verdict(name: str, problems: list[str], bad: str, fix: str, good: str) -> Check:
    """`bad` with every problem named and the fix, or OK with `good`."""
    return Check(name, bad, "; ".join(problems), fix) if problems else Check(name, OK, good)


def check_tracking(settings: Settings, refs: XeroRefs) -> Check:
    name = "rule tracking categories and options exist and are active"
    if refs.tracking is None:
        return Check(name, SKIP, "this Xero server offers no TrackingCategories to check against")
    fix = "add or restore it in Xero (Accounting › Advanced › Tracking categories), or change the rule"
    found = f"{len(refs.tracking)} active categories in the organisation"
    return _verdict(name, tracking_problems(settings.ruleset, refs), FAIL, fix, found)


def check_references(settings: Settings, refs: XeroRefs) -> Check:
    fix = "point the rule at an active account/tax type (Xero: Accounting › Chart of accounts)"
    checked = f"{len(rule_references(settings.ruleset))} rules checked against the organisation"
    problems = reference_problems(settings.ruleset, refs)
    return _verdict("rule accounts and tax types active", problems, FAIL, fix, checked)


def check_account_purpose(settings: Settings, refs: XeroRefs) -> Check:
    fix = "check the rule's account_code is the revenue account meant"
    doubts = purpose_doubts(settings.ruleset, refs)
    return _verdict("rule accounts are sales accounts", doubts, WARN, fix, "every rule account can take a revenue line")


def check_line_kinds(settings: Settings) -> Check:
    """Line types that map to no kind: read from the export itself, or as the last run or preview saw them.

    An API source is not read here (doctor must stay cheap on the platform's rate limit); the run and
    preview record what they met.
    """
    name = "every line type maps to a kind"
    seen: dict[str, int] = {}
    if settings.source.type == "csv":
        try:
            source = build_source(settings)
            source.changed_since(settings.source.start_from or line_kinds.EPOCH)
            seen = dict(source.unmapped)
        except JobsyncError:
            return Check(name, SKIP, "the export could not be read (see the job system check)")
    elif settings.state.path.exists():
        with State.open(settings.state.location) as state:
            seen = unmapped_kinds(state, settings.source.name)
    if seen:
        listed = ", ".join(f"{k!r} ({n} lines)" for k, n in sorted(seen.items(), key=lambda kv: -kv[1])[:5])
        return Check(
            name,
            WARN,
            f"line types that map to no kind, so no kind rule matches them: {listed}",
            line_kinds.add_hint(seen),
        )
    return Check(name, OK, "no unmapped line types seen")
