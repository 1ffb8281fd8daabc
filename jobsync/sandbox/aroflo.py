"""A loopback AroFlo API emulator, shaped by AroFlo's public (Postman) documentation.

Quirks reproduced on purpose, because a connector must survive them:
- One endpoint, `GET /?zone=<zone>&where=...&join=...&page=N&pageSize=N`; JSON only with `Accept: text/json`.
- HMAC-SHA512 per request: `Authentication: HMAC <hex>` over
  `METHOD+[HostIP+]urlPath+Accept+Authorization+afdatetimeutc+<raw query string>`, with
  `Authorization: uencoded=..&pencoded=..&orgEncoded=..`. A wrong signature, unknown credentials or an
  `afdatetimeutc` more than `max_skew` seconds away from the server clock ("Payload has expired") is a 401.
- `where=and|field|op|value` (ops `= != < > <= >= IN NOT IN`, IN values `*`-separated). With NO where,
  the zone's default filter applies silently: tasks requested in the last 30 days only.
- `pageSize` at most 500; `zoneresponse.currentpageresults` / `maxpageresults` / `pagenumber`.
- Lines and client details only through `join=` (material, labour); dates with `/` separators; numbers as strings.
- Limits: `rate_per_second` (429, body status 6, Retry-After 1) and `daily_limit` (HTTP 200, body status 7),
  with `X-RateLimit-Daily-Limit` / `X-RateLimit-Daily-Remaining` headers.

Standard library only: it must not share code with the connector it checks.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from jobsync.sandbox.loopback import LoopbackServer, Reply, json_reply

SEED_PATH = Path(__file__).parent / "data" / "aroflo_seed.json"
MAX_PAGE_SIZE = 500
DEFAULT_WINDOW = timedelta(days=30)
_OPS = ("NOT IN", "IN", "!=", "<=", ">=", "=", "<", ">")
JOINS = {"material": "materials", "materials": "materials", "labour": "labours", "labours": "labours"}
# WHERE field name -> task/client key (AroFlo filters on a few names that differ from the output keys).
FIELDS = {"datetimerequested": "requestdate", "clientid": "clientid"}


def signature(secret: str, parts: list[str]) -> str:
    return hmac.new(secret.encode(), "+".join(parts).encode(), hashlib.sha512).hexdigest()


def _opaque(n: int) -> str:
    """AroFlo ids look like short base64 strings ("JSZaTy1RPFwgCg==")."""
    return base64.b64encode(f"af-{n:06d}".encode()).decode()


class ArofloSandbox(LoopbackServer):
    """Serve AroFlo-shaped data on loopback. Use as a context manager or start()/stop()."""

    def __init__(
        self,
        port: int = 0,
        uencoded: str = "sandbox-u",
        pencoded: str = "sandbox-p",
        org_encoded: str = "sandbox-org",
        secret_key: str = "aroflo-sandbox-secret",
        rate_per_second: int = 3,
        daily_limit: int = 2000,
        max_skew: float = 300,
        clock: Callable[[], float] | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__(port, clock)
        self.uencoded, self.pencoded, self.org_encoded = uencoded, pencoded, org_encoded
        self.secret_key = secret_key
        self.rate_per_second = rate_per_second
        self.daily_limit = daily_limit
        self.max_skew = max_skew
        self.now = now or (lambda: datetime.now(UTC))
        self.tasks: dict[str, dict[str, Any]] = {}
        self.clients: dict[str, dict[str, Any]] = {}
        self.request_log: list[dict[str, Any]] = []
        self.used_today = 0
        self._next = 0

    # -- data ------------------------------------------------------------------------------------

    def _id(self) -> str:
        with self._lock:
            self._next += 1
            return _opaque(self._next)

    def add_client(self, name: str, clientid: str | None = None, **fields: Any) -> str:
        cid = clientid or self._id()
        blank = dict.fromkeys(("firstname", "surname", "email", "phone", "mobile", "abn"), "")
        self.clients[cid] = {"clientid": cid, "clientname": name, **blank, "address": {}, "postable": "true", **fields}
        return cid

    def add_task(self, clientid: str, status: str = "Completed", taskid: str | None = None, **fields: Any) -> str:
        """A task; times are strings as AroFlo writes them (`YYYY/MM/DD HH:MM:SS`, UTC for *utc fields)."""
        tid = taskid or self._id()
        stamp = self.now().strftime("%Y/%m/%d %H:%M:%S")
        client = self.clients.get(clientid, {})
        self.tasks[tid] = {
            "taskid": tid,
            "jobnumber": str(len(self.tasks) + 1000),
            "taskname": "",
            "status": status,
            "completeddate": "",
            "completeddatetime": "",
            "requestdate": stamp[:10],
            "lastupdatedutc": stamp[:10],
            "lastupdateddatetimeutc": stamp,
            "refcode": "",
            "custon": "",
            "client": {"clientid": clientid, "clientname": client.get("clientname", "")},
            "tasktype": "Service",
            "linkprocessed": "false",
            "linkprocesseddate": "",
            "contactname": "",
            "contactphone": "",
            "materials": [],
            "labours": [],
            **fields,
        }
        return tid

    def add_material(self, taskid: str, item: str, quantity: Any, sell: Any, **fields: Any) -> None:
        lines = self.tasks[taskid]["materials"]
        lines.append(
            {
                "lineid": self._id(),
                "partnumber": "",
                "item": item,
                "quantity": str(quantity),
                "cost": "0.00",
                "sell": str(sell),
                "markup": "0",
                "isinventory": "false",
                "matlinkprocessed": "false",
                **fields,
            }
        )

    def add_labour(self, taskid: str, note: str, hours: Any, sell: Any, **fields: Any) -> None:
        lines = self.tasks[taskid]["labours"]
        lines.append(
            {
                "lineid": self._id(),
                "hours": str(hours),
                "sell": str(sell),
                "cost": "0.00",
                "worktype": "Normal Time",
                "note": note,
                "workdate": "",
                "user": {"userid": "", "username": ""},
                "lablinkprocessed": "false",
                **fields,
            }
        )

    def load_seed(self, path: Path | str = SEED_PATH) -> ArofloSandbox:
        """Seed file: {"clients": [...], "tasks": [{..., "materials": [...], "labours": [...]}]}."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        for c in data.get("clients", []):
            self.add_client(c.pop("clientname"), c.pop("clientid"), **c)
        for t in data.get("tasks", []):
            materials, labours = t.pop("materials", []), t.pop("labours", [])
            tid = self.add_task(t.pop("clientid"), t.pop("status"), t.pop("taskid"), **t)
            for m in materials:
                self.add_material(tid, m.pop("item"), m.pop("quantity"), m.pop("sell"), **m)
            for lab in labours:
                self.add_labour(tid, lab.pop("note"), lab.pop("hours"), lab.pop("sell"), **lab)
        return self

    # -- serving ---------------------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str]) -> Reply:
        split = urlsplit(path)
        with self._lock:
            entry: dict[str, Any] = {"query": split.query, "params": parse_qsl(split.query, keep_blank_values=True)}
            self.request_log.append(entry)
            reply = self._answer(split.path, split.query, headers)
            entry["status"] = reply[0]
            entry["aroflo_status"] = json.loads(reply[2]).get("status")
        remaining = max(0, self.daily_limit - self.used_today)
        limits = {"X-RateLimit-Daily-Limit": str(self.daily_limit), "X-RateLimit-Daily-Remaining": str(remaining)}
        return reply[0], {**reply[1], **limits}, reply[2]

    def _auth_problem(self, path: str, query: str, headers: dict[str, str]) -> str | None:
        expected = f"uencoded={self.uencoded}&pencoded={self.pencoded}&orgEncoded={self.org_encoded}"
        authorization = headers.get("authorization", "")
        if authorization != expected:
            return "Invalid credentials (uEncoded/pEncoded/orgEncoded)"
        stamp = headers.get("afdatetimeutc", "")
        try:
            sent = datetime.fromisoformat(stamp)
        except ValueError:
            return "afdatetimeutc missing or unreadable"
        if sent.tzinfo is None or abs((self.now() - sent).total_seconds()) > self.max_skew:
            return "Payload has expired"
        parts = [
            "GET",
            *([headers["hostip"]] if headers.get("hostip") else []),
            path.lstrip("/"),
            headers.get("accept", ""),
            authorization,
            stamp,
            query,
        ]
        given = headers.get("authentication", "").removeprefix("HMAC ").strip()
        if not hmac.compare_digest(given, signature(self.secret_key, parts)):
            return "Signature is not valid"
        return None

    def _answer(self, path: str, query: str, headers: dict[str, str]) -> Reply:
        problem = self._auth_problem(path, query, headers)
        if problem:
            return _reply(401, "-1", problem)
        now = self.clock()
        if self._window_full(now, self.rate_per_second, 1):
            status, extra, body = _reply(429, "6", "Too many requests per second")
            return status, {**extra, "Retry-After": "1"}, body
        if self.used_today >= self.daily_limit:
            return _reply(200, "7", "Daily API limit exceeded")
        self._accepted.append(now)  # counted only once past both limits: a refused call is not accepted
        self.used_today += 1
        if "text/json" not in headers.get("accept", ""):
            return _reply(406, "-1", "this emulator speaks JSON only: send Accept: text/json")
        return self._zone(parse_qsl(query, keep_blank_values=True))

    def _zone(self, params: list[tuple[str, str]]) -> Reply:
        single = dict(params)
        zone = single.get("zone", "").lower()
        source = {"tasks": self.tasks, "clients": self.clients}.get(zone)
        if source is None:
            return _reply(200, "1", f"Unknown zone {zone!r}")
        wheres = [v for k, v in params if k == "where"]
        rows = list(source.values())
        if not wheres and zone == "tasks":  # AroFlo's silent default: requested in the last 30 days
            since = (self.now() - DEFAULT_WINDOW).strftime("%Y/%m/%d")
            rows = [r for r in rows if _norm(r.get("requestdate")) >= _norm(since)]
        for clause in wheres:
            test = _clause(clause)
            if test is None:
                return _reply(200, "1", f"Invalid where clause {clause!r}")
            rows = [r for r in rows if test(r)]
        joins = {JOINS[j.strip().lower()] for j in single.get("join", "").split(",") if j.strip().lower() in JOINS}
        rows = [{k: v for k, v in r.items() if k not in ("materials", "labours") or k in joins} for r in rows]
        size = max(1, min(_int(single.get("pageSize"), MAX_PAGE_SIZE), MAX_PAGE_SIZE))
        page = max(1, _int(single.get("page"), 1))
        chunk = rows[(page - 1) * size : page * size]
        body = {zone: chunk, "currentpageresults": len(chunk), "maxpageresults": size, "pagenumber": page}
        return json_reply({"status": "0", "statusmessage": "Login OK", "zoneresponse": body}, content_type="text/json")


def _int(text: str | None, default: int) -> int:
    try:
        return int(str(text))
    except ValueError:
        return default


def _norm(value: Any) -> str:
    return str(value or "").replace("/", "-").replace("T", " ").strip().lower()


def _clause(clause: str) -> Callable[[dict[str, Any]], bool] | None:
    parts = clause.split("|")
    if len(parts) != 4 or parts[0].lower() != "and" or parts[2].upper() not in _OPS:
        return None
    field, op, value = parts[1].lower(), parts[2].upper(), parts[3]
    key = FIELDS.get(field, field)

    def test(row: dict[str, Any]) -> bool:
        actual = row.get(key, row.get("client", {}).get(key) if key == "clientid" else None)
        left = _norm(actual)
        if op in ("IN", "NOT IN"):
            found = left in {_norm(v) for v in value.split("*")}
            return found if op == "IN" else not found
        right = _norm(value)
        return {
            "=": left == right,
            "!=": left != right,
            "<": left < right,
            ">": left > right,
            "<=": left <= right,
            ">=": left >= right,
        }[op]

    return test


def _reply(http: int, status: str, message: str) -> Reply:
    return json_reply({"status": status, "statusmessage": message}, http, "text/json")


def main() -> None:  # pragma: no cover - manual use: python -m jobsync.sandbox.aroflo
    with ArofloSandbox(port=8092).load_seed() as sandbox:
        print(f"AroFlo sandbox at {sandbox.url} (secret {sandbox.secret_key}); Ctrl-C stops it")
        sandbox.wait_for_interrupt()


if __name__ == "__main__":  # pragma: no cover
    main()
