"""The ServiceM8 emulator's public-app side: the OAuth token endpoint, bearer tokens, and webhooks.

As ServiceM8 documents it:
- `POST /oauth/access_token`, form-encoded, with `client_id` and `client_secret` in the form:
  `grant_type=authorization_code` (code, redirect_uri) or `grant_type=refresh_token`. Access tokens
  last 3600 s; a refresh rotates the refresh token. A bad client answers 401 `invalid_client`, a bad
  code or refresh token 400 `invalid_grant`.
- Only a public app (a bearer token) may subscribe; an API key gets 403.
- `POST /webhook_subscriptions` (form: object, fields, callback_url) subscribes to object changes;
  `POST /webhook_subscriptions/event` (form: event, callback_url) to events such as `job.completed`.
  [UNVERIFIED: the event path.] Before a subscription is kept, ServiceM8 POSTs `mode=subscribe` and a
  `challenge` to the callback URL, form-encoded, and the receiver must answer with the challenge.
- A change is delivered as `{"object": "job", "entry": [{"uuid", "changed_fields", "time"}],
  "resource_url"}`: the values are not included.

Standard library only, like the rest of the emulator.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from dataclasses import dataclass, field
from typing import Any
from urllib.error import URLError
from urllib.parse import parse_qs, urlencode

from jobsync.sandbox.loopback import Reply, json_reply

CLIENT_ID = "sm8-sandbox-app"
CLIENT_SECRET = "sm8-sandbox-app-secret"
TOKEN_SECONDS = 3600


@dataclass
class PublicApp:
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    codes: dict[str, str] = field(default_factory=dict)  # code -> redirect_uri it was issued for
    access: set[str] = field(default_factory=set)
    refresh: set[str] = field(default_factory=set)
    subscriptions: list[dict[str, str]] = field(default_factory=list)
    token_requests: int = 0

    def authorise(self, redirect_uri: str) -> str:
        """What the account owner's consent yields: a one-time code for that redirect URI."""
        code = secrets.token_urlsafe(16)
        self.codes[code] = redirect_uri
        return code

    def bearer_ok(self, headers: dict[str, str]) -> bool:
        value = headers.get("authorization", "")
        return value.startswith("Bearer ") and value[7:] in self.access

    def handle(self, path: str, headers: dict[str, str], body: bytes) -> Reply | None:
        """Answer the app-side paths; None for anything else (the REST API's own writes)."""
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        if path == "/oauth/access_token":
            return self._token(form)
        if path in ("/webhook_subscriptions", "/webhook_subscriptions/event"):
            if not self.bearer_ok(headers):
                return json_reply({"errorCode": 403, "message": "Webhooks are available to public apps only"}, 403)
            return self._subscribe(path, form)
        return None

    def _token(self, form: dict[str, str]) -> Reply:
        self.token_requests += 1
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return json_reply({"error": "invalid_client"}, 401)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            issued_for = self.codes.pop(form.get("code", ""), None)
            if issued_for is None or issued_for != form.get("redirect_uri"):
                return json_reply({"error": "invalid_grant"}, 400)
        elif grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh:
                return json_reply({"error": "invalid_grant"}, 400)
            self.refresh.discard(form["refresh_token"])
        else:
            return json_reply({"error": "unsupported_grant_type"}, 400)
        access, refresh = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
        self.access.add(access)
        self.refresh.add(refresh)
        answer = {"access_token": access, "expires_in": TOKEN_SECONDS, "token_type": "bearer", "refresh_token": refresh}
        return json_reply(answer)

    def _subscribe(self, path: str, form: dict[str, str]) -> Reply:
        callback = form.get("callback_url", "")
        what = form.get("event") if path.endswith("/event") else form.get("object")
        if not callback or not what:
            return json_reply({"errorCode": 400, "message": "callback_url and object (or event) are required"}, 400)
        challenge = secrets.token_hex(8)
        if _post_form(callback, {"mode": "subscribe", "challenge": challenge}) != challenge:
            return json_reply({"errorCode": 400, "message": "The callback URL did not return the challenge"}, 400)
        kept = {"callback_url": callback, "kind": "event" if path.endswith("/event") else "object", "name": what}
        kept["fields"] = form.get("fields", "")
        self.subscriptions = [s for s in self.subscriptions if (s["kind"], s["name"]) != (kept["kind"], what)]
        self.subscriptions.append(kept)
        return json_reply({"success": True})

    def deliver(self, job_uuid: str, time: str, base: str) -> list[int]:
        """Tell every `job` subscriber that a job changed, as ServiceM8 would; returns the statuses."""
        body = {
            "object": "job",
            "entry": [{"uuid": job_uuid, "changed_fields": ["status"], "time": time}],
            "resource_url": f"{base}/api_1.0/job/{job_uuid}.json",
        }
        hooks = [s["callback_url"] for s in self.subscriptions if (s["kind"], s["name"]) == ("object", "job")]
        return [_post_json(url, body) for url in hooks]


def _post_form(url: str, form: dict[str, str]) -> str | None:
    request = urllib.request.Request(url, data=urlencode(form).encode(), method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback test callbacks
            return str(reply.read().decode("utf-8", "replace"))
    except (URLError, OSError):
        return None


def _post_json(url: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback test callbacks
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (URLError, OSError):
        return 0
