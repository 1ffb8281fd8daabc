"""Subscribing `jobsync serve` to ServiceM8's webhooks, as a public (OAuth) app.

Two subscriptions, both to the same receiver URL: the `job` object with its `status` field (ServiceM8
then POSTs the job's uuid whenever its status changes), and the `job.completed` event. ServiceM8 checks
the callback before keeping either: it POSTs `mode=subscribe` with a `challenge`, which `jobsync serve`
echoes, so the service must be running and reachable at that URL first.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests

from jobsync.core.errors import UnreachableError
from jobsync.net.http import platform_message

OBJECT_FIELDS = "status,completion_date,edit_date"
EVENTS = ("job.completed",)


@dataclass(frozen=True)
class Subscribed:
    kind: str  # "object" or "event"
    name: str  # "job" or the event's name


def subscribe(session: requests.Session, api_base: str, callback_url: str) -> list[Subscribed]:
    """POST the subscriptions; ServiceM8's host is the API base without its `/api_1.0`."""
    host = api_base.rstrip("/").removesuffix("/api_1.0")
    wanted = [("object", "job", {"object": "job", "fields": OBJECT_FIELDS})]
    wanted += [("event", name, {"event": name}) for name in EVENTS]
    done = []
    for kind, name, form in wanted:
        path = "/webhook_subscriptions" + ("/event" if kind == "event" else "")
        try:
            resp = session.post(host + path, data={**form, "callback_url": callback_url}, timeout=30)
        except requests.RequestException as exc:
            raise UnreachableError(f"cannot reach ServiceM8 at {host}: {type(exc).__name__}") from None
        if resp.status_code == 403:
            raise UnreachableError("ServiceM8 refused: only a public (OAuth) app may subscribe to webhooks")
        if resp.status_code != 200:
            raise UnreachableError(
                f"ServiceM8 did not keep the {name} subscription (HTTP {resp.status_code}: "
                f"{platform_message(resp)}); check that `jobsync serve` answers at {callback_url}"
            )
        done.append(Subscribed(kind, name))
    return done
