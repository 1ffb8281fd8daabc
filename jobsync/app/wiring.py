"""Builds the pieces of a pass (job source, Xero gateway) from the settings.

Kept apart from the CLI so tests, the demo and benchmarks build exactly what
`jobsync run` builds.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from jobsync.config.settings import Settings, SourceSettings
from jobsync.core.errors import ConfigError
from jobsync.sources.base import JobSource
from jobsync.sources.kind_mapped import KindMappedSource
from jobsync.sources.rest_transport import RestAuth
from jobsync.state.token_vault import DatabaseVault, sealer
from jobsync.xero.auth import client_credentials_provider, static_token_provider
from jobsync.xero.follow_up_client import FollowUpClient
from jobsync.xero.limiter import CallLimiter, Limits
from jobsync.xero.token_store import XeroLogin, oauth_provider, stored_tenant


def build_source(settings: Settings) -> KindMappedSource:
    """The configured job source, its line types mapped by `source.kind_map` as every pass reads them."""
    return KindMappedSource(build_connector(settings), settings.source.kind_map)


def build_connector(settings: Settings) -> JobSource:
    """The configured platform's connector alone, as it reads the job system."""
    src = settings.source
    if src.type == "csv":
        from jobsync.sources.csvfile import CsvJobSource

        if src.path is None:
            raise ConfigError("source.type is csv but source.path is not set", ["set source.path to the export"])
        columns = {k: v for k, v in src.columns.model_dump().items() if v}
        line_columns = {k: v for k, v in src.line_columns.model_dump().items() if v}
        return CsvJobSource(
            src.path,
            columns,
            statuses=src.statuses,
            timezone=src.timezone,
            name=src.name,
            lines_path=src.lines_path,
            line_columns=line_columns,
            date_format=src.date_format,
            prices_include_tax=src.prices_include_tax,
        )
    if src.type == "servicem8":
        from jobsync.app.servicem8_wiring import servicem8_base, servicem8_session
        from jobsync.sources.servicem8 import ServiceM8Source

        # source.timezone is ServiceM8's fallback only when the config sets it: the account states its own.
        fallback = src.timezone if "timezone" in src.model_fields_set else ""
        return ServiceM8Source(
            servicem8_base(settings),
            statuses=src.statuses,
            name=src.name,
            session=servicem8_session(settings),
            skip_exported=src.skip_exported,
            timezone=fallback,
        )
    if src.type == "rest":
        return _rest(src)
    if src.type == "simpro":
        return _simpro(src)
    if src.type == "aroflo":
        return _aroflo(src)
    raise ConfigError(f"source.type {src.type!r} is not available", ["use csv, servicem8, rest, simpro or aroflo"])


def _rest(src: SourceSettings) -> JobSource:
    from jobsync.sources.rest import RestJobSource
    from jobsync.sources.rest_transport import Paging

    if not src.base_url or src.rest is None:
        raise ConfigError(
            "source.type is rest but base_url or the rest: section is missing",
            ["set source.base_url and source.rest.fields (see config.example.yaml)"],
        )
    r = src.rest
    auth = rest_auth(src)
    return RestJobSource(
        src.base_url,
        r.fields,
        statuses=src.statuses,
        timezone=src.timezone,
        name=src.name,
        auth=auth,
        lines_path=r.lines_path,
        list_path=r.list_path,
        job_path=r.job_path,
        list_query=r.list_query,
        paging=Paging(**r.paging.model_dump()),
        lines_url=r.lines_url,
        client_url=r.client_url,
    )


def rest_auth(src: SourceSettings) -> RestAuth:
    """The REST source's credentials: the same for reading jobs and for writing payments back."""
    r = src.rest
    assert r is not None  # callers check the rest: section first
    return RestAuth(
        r.auth,
        token=src.api_key,
        header=r.api_key_header,
        username=r.username,
        password=r.password,
        token_url=str(r.token_url) if r.token_url else None,
        client_id=r.client_id,
        client_secret=r.client_secret,
        scope=r.scope,
    )


def _simpro(src: SourceSettings) -> JobSource:
    from jobsync.sources.simpro import SimproSource

    if not src.base_url or not src.api_key:
        raise ConfigError(
            "source.type is simpro but base_url or api_key is missing",
            [
                "set source.base_url to https://{build}.simprosuite.com/api/v1.0/companies/{companyID}",
                "set source.api_key to the API token",
            ],
        )
    # simPRO calls the finished stage "Complete"; the shared default "Completed" would match nothing.
    statuses = src.statuses if "statuses" in src.model_fields_set else ("Complete",)
    return SimproSource(src.base_url, src.api_key, statuses=statuses, name=src.name, timezone=src.timezone)


def _aroflo(src: SourceSettings) -> JobSource:
    from jobsync.sources.aroflo import DEFAULT_BASE_URL, ArofloSource

    if src.aroflo is None:
        raise ConfigError(
            "source.type is aroflo but the aroflo: section is missing",
            ["set source.aroflo.uencoded, pencoded, org_encoded and secret_key"],
        )
    a = src.aroflo
    return ArofloSource(
        src.base_url or DEFAULT_BASE_URL,
        a.uencoded,
        a.pencoded,
        a.org_encoded,
        a.secret_key,
        statuses=src.statuses,
        name=src.name,
        timezone=src.timezone,
        daily_budget=a.daily_budget,
        skip_exported=src.skip_exported,
        host_ip=a.host_ip,
    )


def xero_login(settings: Settings) -> XeroLogin:
    """The token store's view of the config. The store is `xero.auth.token_store`, else beside the state
    file (`<state stem>.tokens.toml`), so each config keeps its own tokens."""
    auth = settings.xero.auth
    if auth.token_store is not None:
        store = Path(auth.token_store).expanduser()
    else:
        state = Path(settings.state.path)
        store = state.with_name(state.stem + ".tokens.toml")
    vault = None
    if auth.token_vault is not None:
        vault = DatabaseVault(auth.token_vault.url, auth.token_vault.org, sealer())
    x = settings.xero
    return XeroLogin(store, x.identity_url, x.api_url, auth.client_id, auth.client_secret, vault)


def token_provider(settings: Settings) -> Callable[[], str]:
    auth = settings.xero.auth
    if auth.mode == "static_token":
        return static_token_provider(auth.token)
    if auth.mode == "client_credentials":
        return client_credentials_provider(settings.xero.identity_url, auth.client_id, auth.client_secret)
    return oauth_provider(xero_login(settings))


def tenant_id(settings: Settings) -> str:
    if settings.xero.tenant_id:
        return settings.xero.tenant_id
    if settings.xero.auth.mode in ("oauth", "client_credentials"):
        tenant = stored_tenant(xero_login(settings))
        if tenant:
            return tenant
    raise ConfigError(
        "no Xero organisation chosen",
        ["set xero.tenant_id, or run `jobsync auth login` to store one"],
    )


def build_gateway(
    settings: Settings, limiter_for: Callable[[str, Limits], CallLimiter] | None = None
) -> FollowUpClient:
    """The Xero client for one run. `limiter_for(tenant, limits)` replaces the run's own pacing, as the
    practice's workers do with limits shared in PostgreSQL."""
    x = settings.xero
    limits = Limits(
        per_minute=x.max_calls_per_minute, concurrent=x.max_calls_in_flight, daily_budget=x.daily_call_budget
    )
    tenant = tenant_id(settings)
    return FollowUpClient(
        x.api_url,
        tenant,
        token_provider(settings),
        max_retry_after=x.max_retry_after_seconds,
        limiter=(limiter_for or _own_limiter)(tenant, limits),
        refs_max_age=timedelta(minutes=x.refs_cache_minutes),
    )


def _own_limiter(tenant: str, limits: Limits) -> CallLimiter:
    return CallLimiter(limits)
