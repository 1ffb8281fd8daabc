"""The config file → frozen `Settings`, validated once at the edge.

Every problem (unknown key, wrong type, unset ${ENV_VAR}, bad rule) is collected and raised together
in one ConfigError, each line naming the file, the YAML line and the key path, so a user fixes them
all in one pass. Secrets come from environment variables and never appear in dumps or hashes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from jobsync.config.sections import (  # re-exported: callers import settings types from here
    REQUIRED_CSV_COLUMNS,
    ArofloSourceSettings,
    ColumnSettings,
    EmailSettings,
    NotifySettings,
    PaymentTermsSettings,
    ReportSettings,
    RestSourceSettings,
    Settings,
    SourceSettings,
    StateSettings,
    XeroAuthSettings,
    XeroSettings,
)
from jobsync.config.yaml_file import parse_yaml, read_config_text
from jobsync.core.billing import load_billing
from jobsync.core.errors import ConfigError, echo
from jobsync.core.rules import load_rules

__all__ = [
    "ArofloSourceSettings",
    "ColumnSettings",
    "EmailSettings",
    "NotifySettings",
    "PaymentTermsSettings",
    "ReportSettings",
    "RestSourceSettings",
    "Settings",
    "SourceSettings",
    "StateSettings",
    "XeroAuthSettings",
    "XeroSettings",
    "config_hash",
    "env_references",
    "load_settings",
    "redacted_settings",
    "resolve_config_path",
]

DEFAULT_PATH = "jobsync.yaml"
ENV_VAR = "JOBSYNC_CONFIG"

KeyPath = tuple[str | int, ...]

# Keys whose values are credentials: redacted in dumps, left out of the config hash. By name, wherever
# they sit (a receiver under serve.signed.<name> is one of many), so a new secret field is covered the
# day it is added: anything named *secret*, *password*, *token, *key, *encoded or *webhook_url.
SECRET_NAME = re.compile(r"secret|password|(^|_)(token|key|encoded)$|encoded$|webhook_url$")


REDACTED = "***"


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


def resolve_config_path(path: str | Path | None, env: Mapping[str, str]) -> Path:
    if path:
        return expand_user(Path(path), "--config")
    if env.get(ENV_VAR):
        return expand_user(Path(env[ENV_VAR]), ENV_VAR)
    return Path(DEFAULT_PATH)


def expand_user(path: Path, what: str) -> Path:
    """`~/x` → the home directory; `~nobody/x` for a user that does not exist is a ConfigError, not a crash."""
    try:
        return path.expanduser()
    except RuntimeError:
        raise ConfigError(f"{what}: {path} names a home directory that does not exist; write the full path") from None


def load_settings(path: str | Path | None, env: Mapping[str, str] | None = None) -> Settings:
    env = os.environ if env is None else env
    config_path = resolve_config_path(path, env)
    label = config_path.name
    data, lines, dupes = parse_yaml(read_config_text(config_path), config_path)
    if not isinstance(data, dict):
        raise ConfigError(f"{config_path} is invalid", [f"{label}: expected a mapping of sections"])
    problems: list[tuple[KeyPath, str]] = list(dupes)
    if data.pop("config_path", None) is not None:  # a Settings field, but not a config key
        problems.append((("config_path",), "unknown key (check its spelling and section)"))
    data = _interpolate(data, (), env, problems)
    settings: Settings | None = None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems += _first_per_key([_pydantic_problem(err) for err in exc.errors()])
    except (TypeError, ArithmeticError, OverflowError) as exc:
        # A validator that met a value of a type nobody foresaw: still the config's fault, still one line.
        problems.append(((), f"a value could not be checked ({type(exc).__name__}: {str(exc)[:80]})"))
    # A key already reported (e.g. its ${VAR} is unset) is not reported twice.
    reported = {path for path, _ in problems}
    problems += [p for p in _semantic_problems(data) if p[0] not in reported]
    # The rules and billing were parsed with the model; only when that failed are they parsed again,
    # to word each problem with its line.
    if settings is None or settings.parsed_rules is None:
        problems += _rules_problems(data.get("rules", {}))
    if settings is None or (settings.parsed_billing is None and settings.billing is not None):
        problems += _billing_problems(data.get("billing"))
    if problems:
        # In file order, so the list reads top to bottom alongside the file.
        problems.sort(key=lambda item: _line_of(lines, item[0]) or 0)
        raise ConfigError(f"{config_path} is invalid", [_format(label, lines, p, m) for p, m in problems])
    assert settings is not None
    return _resolve_paths(settings, config_path)


_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def _interpolate(value: Any, path: KeyPath, env: Mapping[str, str], problems: list[tuple[KeyPath, str]]) -> Any:
    if isinstance(value, dict):
        return {k: _interpolate(v, (*path, str(k)), env, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(v, (*path, i), env, problems) for i, v in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in env:
            return env[name]
        if default is not None:
            return default
        problems.append((path, f"environment variable {name} is not set; export it or write ${{{name}:-default}}"))
        return ""

    result = _ENV_REF.sub(substitute, value)
    # `${VAR:-}` resolving to nothing means "not set", so optional keys fall back to their default.
    return None if result == "" else result


# Pydantic names the member of a union that failed ("decimal", "literal['off']"); that is not a key.
_UNION_MEMBER = re.compile(r"^(?:decimal|int|float|str|bool|none|date|datetime|[a-z-]+\[.*\])$")


def _first_per_key(problems: list[tuple[KeyPath, str]]) -> list[tuple[KeyPath, str]]:
    """One problem per key: a value every member of a union refused is reported once."""
    seen: dict[KeyPath, str] = {}
    for path, message in problems:
        seen.setdefault(path, message)
    return list(seen.items())


def _pydantic_problem(err: Any) -> tuple[KeyPath, str]:
    loc: KeyPath = tuple(err["loc"])
    while loc and isinstance(loc[-1], str) and _UNION_MEMBER.match(loc[-1]):
        loc = loc[:-1]
    kind, given = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return loc, "unknown key (check its spelling and section)"
    if kind == "missing":
        return loc, "required"
    if kind == "literal_error":
        choices = err.get("ctx", {}).get("expected", "")
        return loc, f"must be {choices.replace(chr(39), '')} (got {echo(given)})"
    message = err["msg"].removeprefix("Value error, ")
    if "(got " in message or isinstance(given, dict | list):
        return loc, message
    return loc, f"{message[:1].lower()}{message[1:]} (got {echo(given)})"


def _section(data: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def _semantic_problems(data: dict[str, Any]) -> list[tuple[KeyPath, str]]:
    """Cross-field checks, on the raw data so they are reported even when other keys are invalid."""
    problems: list[tuple[KeyPath, str]] = []
    xero, auth, source = _section(data, "xero"), _section(data, "xero", "auth"), _section(data, "source")
    mode = auth.get("mode", "static_token")
    if mode == "static_token" and not auth.get("token"):
        problems.append((("xero", "auth", "token"), "required when xero.auth.mode is static_token"))
    if mode in ("oauth", "client_credentials") and not auth.get("client_id"):
        problems.append((("xero", "auth", "client_id"), f"required when xero.auth.mode is {mode}"))
    if mode == "client_credentials" and not auth.get("client_secret"):
        problems.append((("xero", "auth", "client_secret"), "required when xero.auth.mode is client_credentials"))
    if source.get("type") == "csv":
        if not source.get("path"):
            problems.append((("source", "path"), "required for a csv source: the export file to read"))
        columns = _section(source, "columns")
        line_columns = _section(source, "line_columns")  # with a lines file, line fields are mapped there
        for name in REQUIRED_CSV_COLUMNS:
            if not columns.get(name) and not (source.get("lines_path") and line_columns.get(name)):
                problems.append((("source", "columns", name), "required for a csv source: its CSV header"))
    if source.get("type") == "servicem8" and not source.get("api_key") and not source.get("servicem8_oauth"):
        problems.append((("source", "api_key"), "required for a servicem8 source, unless servicem8_oauth is set"))
    if xero.get("email_invoices") is True and xero.get("invoice_status", "DRAFT") != "AUTHORISED":
        problems.append(
            (
                ("xero", "email_invoices"),
                "Xero only emails AUTHORISED invoices; set xero.invoice_status: AUTHORISED or email_invoices: false",
            )
        )
    return problems


def _rules_problems(raw: Any) -> list[tuple[KeyPath, str]]:
    """The rules' problems, each with its key path, so they are listed with every other problem."""
    try:
        load_rules(raw)
    except ConfigError as exc:
        return [_split_rules_problem(p) for p in (exc.problems or [exc.message])]
    return []


def _billing_problems(raw: Any) -> list[tuple[KeyPath, str]]:
    try:
        load_billing(raw)
    except ConfigError as exc:
        return [_split_rules_problem(p) for p in (exc.problems or [exc.message])]
    return []


MESSAGE_LIMIT = 300  # characters in one config problem's line

_PATH_PART = re.compile(r"([A-Za-z_][\w-]*)|\[(\d+)\]")


def _split_rules_problem(problem: str) -> tuple[KeyPath, str]:
    # rules.py words problems as "rules.lines[0].when.kind: message"; recover the key path for a line.
    head, sep, message = problem.partition(": ")
    root = head.split(".")[0].split("[")[0]
    if not sep or root not in ("rules", "billing") or " " in head:
        return (root if root in ("rules", "billing") else "rules",), problem
    path: KeyPath = tuple(int(i) if i else n for n, i in _PATH_PART.findall(head))
    return path, message


def _line_of(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    for end in range(len(path), 0, -1):  # the deepest key that exists in the file
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _format(label: str, lines: Mapping[KeyPath, int], path: KeyPath, message: str) -> str:
    line = _line_of(lines, path)
    where = f"{label} line {line}" if line is not None else label
    text = f"{where}: {dotted(path)}: {message}" if path else f"{where}: {message}"
    # The last guard of a class of fault: a message that quotes a value nobody cut still prints as one
    # readable line. Each quoting site uses `echo`; this catches the one that forgot.
    return text if len(text) <= MESSAGE_LIMIT else text[: MESSAGE_LIMIT - 1] + "…"


def dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _resolve_paths(settings: Settings, config_path: Path) -> Settings:
    """Relative paths in the file are relative to the file, not to wherever cron starts us."""
    base = config_path.resolve().parent

    def fix(p: Path | None, key: str) -> Path | None:
        if p is None:
            return None
        if "\x00" in str(p):
            raise ConfigError(f"{config_path.name}: {key}: a path cannot contain a NUL character")
        return (base / expand_user(p, f"{config_path.name}: {key}")).resolve()

    auth = settings.xero.auth.model_copy(
        update={"token_store": fix(settings.xero.auth.token_store, "xero.auth.token_store")}
    )
    source = settings.source
    sm8 = source.servicem8_oauth
    if sm8 is not None:
        sm8 = sm8.model_copy(update={"token_store": fix(sm8.token_store, "source.servicem8_oauth.token_store")})
    return settings.model_copy(
        update={
            "xero": settings.xero.model_copy(update={"auth": auth}),
            "source": source.model_copy(
                update={
                    "path": fix(source.path, "source.path"),
                    "lines_path": fix(source.lines_path, "source.lines_path"),
                    "servicem8_oauth": sm8,
                }
            ),
            "state": settings.state.model_copy(update={"path": fix(settings.state.path, "state.path")}),
            "reports": ReportSettings(dir=fix(settings.reports.dir, "reports.dir")),  # type: ignore[arg-type]
            "config_path": config_path.resolve(),
        }
    )


# ---------------------------------------------------------------------------
# Dumps and hash
# ---------------------------------------------------------------------------


def env_references(text: str) -> list[tuple[str, bool]]:
    """Every ${VAR} the config's values use, in file order, with whether it has a `:-default`.

    Read from the parsed YAML, so a ${VAR} mentioned in a comment is not asked for.
    """
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    found: dict[str, bool] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            for m in _ENV_REF.finditer(node):
                found[m.group(1)] = found.get(m.group(1), True) and m.group(2) is not None

    walk(data)
    return list(found.items())


def redacted_settings(settings: Settings) -> dict[str, Any]:
    """The settings as plain JSON data with every secret replaced by '***', for reports and doctor."""
    redacted: dict[str, Any] = _redact(settings.model_dump(mode="json", by_alias=True), lambda v: REDACTED if v else v)
    return redacted


def config_hash(settings: Settings) -> str:
    """A short fingerprint of what the settings do, so reports show when config changed between runs."""
    data = settings.model_dump(mode="json", by_alias=True)
    data = _redact(data, lambda v: None)
    blob = json.dumps(data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


_URL_PASSWORD = re.compile(r"^([a-z][a-z0-9+.-]*://[^/@:]*:)([^/@]+)(@)", re.IGNORECASE)


def _redact(data: Any, fn: Callable[[Any], Any]) -> Any:
    if isinstance(data, str):  # a URL that carries a password (state.url, a proxy): the password goes
        return _URL_PASSWORD.sub(lambda m: m.group(1) + REDACTED + m.group(3), data)
    if isinstance(data, dict):
        return {
            k: fn(v) if SECRET_NAME.search(str(k)) and not isinstance(v, dict) else _redact(v, fn)
            for k, v in data.items()
        }
    if isinstance(data, list):
        return [_redact(v, fn) for v in data]
    return data
