"""`jobsync contacts …`: find duplicate Xero contacts, clean them up, undo a clean-up.

The commands parse, call one function of `contact_commands`, and render; all decisions live there.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.table import Table

from jobsync.app import contact_commands, job_commands
from jobsync.app.contact_commands import ApplyResult, appliable
from jobsync.cli.support import DEFAULT_WAIT, ConfigOpt, JsonOpt, WaitOpt, err, guarded, out
from jobsync.config.settings import load_settings
from jobsync.core.dedupe import DEFAULT_MIN_SCORE, Cluster, ContactFacts
from jobsync.core.errors import ConfigError

contacts_app = typer.Typer(help="Find and clean up duplicate Xero contacts.", no_args_is_help=True)

ApplyOpt = Annotated[bool, typer.Option("--apply", help="Clean up the exact and likely clusters (asks first).")]
YesOpt = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before applying.")]
MinScoreOpt = Annotated[
    int, typer.Option("--min-score", min=1, max=100, help="Lowest pair score shown (possible clusters start here).")
]
ArchivedOpt = Annotated[bool, typer.Option("--include-archived", help="Also read archived contacts.")]


@contacts_app.command()
@guarded
def dedupe(
    config: ConfigOpt = None,
    apply: ApplyOpt = False,
    yes: YesOpt = False,
    as_json: JsonOpt = False,
    min_score: MinScoreOpt = DEFAULT_MIN_SCORE,
    include_archived: ArchivedOpt = False,
) -> None:
    """List clusters of likely duplicate contacts (a dry run unless --apply)."""
    if apply and as_json and not yes:
        raise ConfigError("--apply with --json cannot ask for confirmation", ["add --yes"])
    settings = load_settings(config)
    surveyed = contact_commands.survey(settings, min_score, include_archived)
    found = surveyed.found
    chosen = appliable(found.clusters)
    if not apply:
        _show_clusters(found.clusters, dict(found.calls), as_json)
        return
    if not as_json:
        _show_clusters(found.clusters, dict(found.calls), False)
    if not chosen:
        _say(as_json, {"run_id": None, "clusters": [], "calls": surveyed.calls}, "Nothing to apply.")
        return
    if not yes and not typer.confirm(f"Clean up {len(chosen)} cluster(s) in Xero?", default=False):
        err.print("Nothing changed.")
        raise typer.Exit(0)
    _show_result(contact_commands.apply(settings, surveyed, chosen), as_json)


@contacts_app.command("undo")
@guarded
def undo_cmd(
    run_id: Annotated[str, typer.Argument(help="The run id `dedupe --apply` printed.")],
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Reverse a dedupe run: unarchive, move drafts back, restore fields and the client map."""
    settings = load_settings(config)
    done = contact_commands.undo(settings, run_id)
    _say(as_json, {"run_id": run_id, "undone": done}, "\n".join(done) + f"\nUndid dedupe run {run_id}.")


@contacts_app.command("keep-separate")
@guarded
def keep_separate_cmd(
    a: Annotated[str, typer.Argument(help="ContactID")],
    b: Annotated[str, typer.Argument(help="ContactID")],
    config: ConfigOpt = None,
    wait: WaitOpt = DEFAULT_WAIT,
) -> None:
    """Record that two contacts are different customers: never propose them as duplicates again."""
    settings = load_settings(config)
    new = contact_commands.keep_separate(settings, a, b, wait)
    out.print("Recorded: they will not be proposed again." if new else "Already recorded.")


# -- rendering -----------------------------------------------------------------


def _say(as_json: bool, doc: dict[str, Any], text: str) -> None:
    if as_json:
        print(json.dumps(doc, indent=2))
    else:
        out.print(text, highlight=False)


def member_doc(m: ContactFacts) -> dict[str, Any]:
    c = m.contact
    return {
        "contact_id": c.contact_id,
        "name": c.name,
        "email": c.email,
        "phone": c.phone,
        "contact_number": c.contact_number,
        "status": c.status,
        "invoices": dict(m.invoice_counts),
        "balance": str(m.balance),
        "client_keys": list(m.client_keys),
    }


def cluster_doc(c: Cluster) -> dict[str, Any]:
    return {
        "grade": c.grade,
        "score": c.score,
        "survivor": c.survivor,
        "survivor_reason": c.survivor_reason,
        "members": [member_doc(m) for m in c.members],
        "pairs": [{"a": p.a, "b": p.b, "score": p.score, "reason": p.reason} for p in c.pairs],
    }


def _show_clusters(clusters: list[Cluster], calls: dict[str, int], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"clusters": [cluster_doc(c) for c in clusters], "calls": calls}, indent=2))
        return
    if not clusters:
        out.print("No duplicate contacts found.")
    for n, c in enumerate(clusters, 1):
        table = Table(
            title=f"{n}. {c.grade} (score {c.score}) — keep {_name(c, c.survivor)}: {c.survivor_reason}",
            title_justify="left",
        )
        for col in ("", "name", "email", "phone", "invoices", "balance"):
            table.add_column(col)
        table.add_column("ContactID", overflow="fold", min_width=36)  # whole: keep-separate needs it
        for m in c.members:
            counts = ", ".join(f"{k.lower()} {v}" for k, v in sorted(m.invoice_counts.items())) or "-"
            mark = "keep" if m.contact_id == c.survivor else ""
            table.add_row(
                mark, m.contact.name, m.contact.email or "", m.contact.phone or "", counts, str(m.balance), m.contact_id
            )
        out.print(table)
        for p in c.pairs:
            out.print(f"   {_name(c, p.a)} ~ {_name(c, p.b)}: {p.score} ({p.reason})", highlight=False)
    applied = sum(1 for c in clusters if c.grade != "possible")
    out.print(
        f"{len(clusters)} cluster(s); {applied} exact/likely would be cleaned up by --apply. "
        f"Calls: {', '.join(f'{k} ×{v}' for k, v in sorted(calls.items()))}"
    )


def _name(c: Cluster, contact_id: str) -> str:
    return next((m.contact.name for m in c.members if m.contact_id == contact_id), contact_id)


def _show_result(result: ApplyResult, as_json: bool) -> None:
    if as_json:
        doc = {
            "run_id": result.run_id,
            "calls": result.calls,
            "clusters": [{"survivor": o.survivor, "done": o.done, "advice": o.advice} for o in result.outcomes],
        }
        print(json.dumps(doc, indent=2))
        return
    for o in result.outcomes:
        for line in o.done:
            out.print(f"  ✓ {line}", highlight=False)
        for line in o.advice:
            out.print(f"  [yellow]! {line}[/yellow]", highlight=False)
    out.print(f"Dedupe run {result.run_id}. Undo with: jobsync contacts undo {result.run_id}")


@contacts_app.command("map")
@guarded
def map_cmd(
    client: Annotated[str, typer.Argument(help="The client key a hold shows (e.g. csv:C-1001), or a held job.")],
    contact: Annotated[str | None, typer.Option("--contact", help="Use this Xero ContactID from now on.")] = None,
    new_name: Annotated[
        str | None, typer.Option("--new-name", help="Create the client's contact under this name.")
    ] = None,
    wait: WaitOpt = DEFAULT_WAIT,
    config: ConfigOpt = None,
) -> None:
    """Fix a contact hold: map the client to one Xero contact, or give its new contact another name."""
    settings = load_settings(config)
    key = job_commands.map_client(settings, client, contact, new_name, wait)
    target = f"contact {contact}" if contact else f"a new contact named {new_name!r}"
    out.print(f"{key}: invoices go to {target} from the next run")
