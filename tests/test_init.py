"""`jobsync init` (prompts and flags), `config schema` and `--version`."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jobsync.app.init_config import Answers, render, settings_schema, write_config
from jobsync.cli import setup as cli_setup
from jobsync.config.settings import load_settings
from jobsync.core.errors import ConfigError

ENV = {"XERO_TENANT_ID": "t-1", "XERO_ACCESS_TOKEN": "tok", "SERVICEM8_API_KEY": "k", "XERO_CLIENT_ID": "cid"}


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def root(version: cli_setup.VersionOpt = False) -> None:
        """jobsync."""

    cli_setup.register(app)
    return app


def test_non_interactive_flags_write_a_config_the_loader_accepts(tmp_path: Path) -> None:
    path = tmp_path / "jobsync.yaml"
    result = CliRunner().invoke(
        _app(),
        [
            "init",
            "--non-interactive",
            "--config",
            str(path),
            "--labour-account",
            "205",
            "--materials-account",
            "210",
            "--payment-terms",
            "7",
            "--start-from",
            "2026-11-01",
            "--invoice-status",
            "authorised",
        ],
    )
    assert result.exit_code == 0, result.output
    assert f"wrote {path}" in result.output
    settings = load_settings(path, env=ENV)
    assert settings.xero.auth.token == "tok" and settings.xero.tenant_id == "t-1"
    assert settings.xero.payment_terms_days == 7 and settings.xero.invoice_status == "AUTHORISED"
    assert [r["account_code"] for r in settings.rules["lines"]] == ["205", "210"]
    assert settings.source.start_from is not None and settings.source.start_from.date() == date(2026, 11, 1)
    assert settings.source.path == tmp_path / "jobs.csv"
    text = path.read_text()
    assert "    token: ${XERO_ACCESS_TOKEN}\n" in text  # secrets by reference only
    assert text.count("\n#") >= 3  # commented


def test_prompts_are_answered_in_order(tmp_path: Path) -> None:
    path = tmp_path / "jobsync.yaml"
    answers = [
        "servicem8",  # job system
        "",  # the ServiceM8 API URL: the real one
        "SM8_KEY",  # env var with the ServiceM8 key (not set in the test's shell: doctor checks it later)
        "n",  # not the sandbox
        "client_credentials",  # Xero auth
        "XCID",
        "XSECRET",  # client id / secret env names
        "",  # tenant env name: default
        "205",
        "210",
        "260",  # labour / materials / other accounts
        "",  # tax type: default OUTPUT
        "DRAFT",
        "30",
        "2026-12-01",
        "Pacific/Auckland",
        "n",  # doctor: not now
    ]
    result = CliRunner().invoke(_app(), ["init", "--config", str(path)], input="\n".join(answers) + "\n")
    assert result.exit_code == 0, result.output
    assert "Job system (csv/servicem8) [csv]:" in result.output
    env = {"SM8_KEY": "k", "XCID": "id", "XSECRET": "s", "XERO_TENANT_ID": "t"}
    settings = load_settings(path, env=env)
    assert settings.source.type == "servicem8" and settings.source.api_key == "k"
    assert (settings.xero.auth.mode, settings.xero.auth.client_id, settings.xero.auth.client_secret) == (
        "client_credentials",
        "id",
        "s",
    )
    assert settings.rules["default"] == {"account_code": "260", "tax_type": "OUTPUT"}
    assert settings.xero.payment_terms_days == 30 and settings.source.timezone == "Pacific/Auckland"
    assert "export SM8_KEY XCID XSECRET XERO_TENANT_ID" not in result.output  # order follows env_names
    assert "XSECRET" in result.output


def test_existing_file_is_kept_unless_force(tmp_path: Path) -> None:
    path = tmp_path / "jobsync.yaml"
    path.write_text("mine\n")
    result = CliRunner().invoke(_app(), ["init", "--non-interactive", "--config", str(path)])
    assert result.exit_code == 2 and "already exists" in result.output
    assert path.read_text() == "mine\n"
    forced = CliRunner().invoke(_app(), ["init", "--non-interactive", "--force", "--config", str(path)])
    assert forced.exit_code == 0 and "source:" in path.read_text()


def test_bad_answers_are_refused_before_writing(tmp_path: Path) -> None:
    path = tmp_path / "jobsync.yaml"
    with pytest.raises(ConfigError) as caught:
        write_config(path, Answers(source="simpro", token_env="MY-TOKEN", payment_terms_days=-1))
    problems = "\n".join(caught.value.problems)
    assert "job system must be one of csv, servicem8" in problems
    assert "'MY-TOKEN' is not an environment variable name" in problems
    assert not path.exists()


def test_invalid_timezone_is_reported_by_the_loader_and_nothing_is_written(tmp_path: Path) -> None:
    path = tmp_path / "jobsync.yaml"
    with pytest.raises(ConfigError) as caught:
        write_config(path, Answers(timezone="Mars/Olympus"), env={})
    assert any("unknown IANA timezone" in p for p in caught.value.problems)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("mode", ["static_token", "oauth", "client_credentials"])
@pytest.mark.parametrize("source", ["csv", "servicem8"])
def test_every_combination_loads(tmp_path: Path, mode: str, source: str) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(render(Answers(source=source, auth_mode=mode)))
    env = {**ENV, "XERO_CLIENT_SECRET": "s"}
    settings = load_settings(path, env=env)
    assert settings.xero.auth.mode == mode and settings.source.type == source


def test_config_schema_is_json_schema_of_settings() -> None:
    result = CliRunner().invoke(_app(), ["config", "schema"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema == settings_schema()
    assert schema["required"] == ["source"]
    assert {"xero", "source", "rules", "state", "reports", "notify"} <= set(schema["properties"])
    assert "config_path" not in schema["properties"]
    assert schema["additionalProperties"] is False  # unknown keys are errors in editors too
    email = schema["$defs"]["EmailSettings"]["properties"]
    assert "from" in email and "sender" not in email  # the YAML key, not the Python name


def test_version() -> None:
    result = CliRunner().invoke(_app(), ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == "jobsync 0.1.0"


def test_the_header_row_proposes_the_mapping_with_tradify_and_workflowmax_presets() -> None:
    from jobsync.app.init_config import header_of
    from jobsync.core.csv_layouts import propose

    samples = Path(__file__).resolve().parents[1] / "jobsync" / "samples"
    tradify = propose(header_of(samples / "tradify_export.csv"))
    assert (tradify.layout, tradify.date_format, tradify.missing) == ("Tradify", "%d/%m/%Y", ())
    wfm = propose(header_of(samples / "workflowmax_export.csv"))  # ';'-separated, with a BOM
    assert (wfm.layout, wfm.prices_include_tax, wfm.columns["job_number"]) == ("WorkflowMax", True, "Job No.")
    odd = propose(["Work Order", "Customer", "E-mail", "Details", "QTY", "Bill Amount"])
    assert odd.layout is None and odd.missing == ("unit_price",)
    assert (odd.columns["job_number"], odd.columns["client_name"], odd.columns["quantity"]) == (
        "Work Order",
        "Customer",
        "QTY",
    )


def test_init_tries_the_servicem8_key_at_once_and_asks_again_when_it_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jobsync.sandbox.servicem8 import ServiceM8Sandbox

    with ServiceM8Sandbox() as sm8:
        monkeypatch.setenv("OLD_KEY", "not-the-key")
        monkeypatch.setenv("SM8_KEY", sm8.api_key)
        path = tmp_path / "jobsync.yaml"
        answers = [
            "servicem8",
            sm8.url,
            "OLD_KEY",
            "y",
            "SM8_KEY",
            "n",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "",
            "n",
        ]
        result = CliRunner().invoke(_app(), ["init", "--config", str(path)], input="\n".join(answers) + "\n")
        assert result.exit_code == 0, result.output
        assert "ServiceM8 refused the API key" in result.output and "Try another variable?" in result.output
        assert f"ServiceM8 at {sm8.url} accepted the API key" in result.output
        settings = load_settings(path, env={"SM8_KEY": sm8.api_key, "XERO_ACCESS_TOKEN": "t", "XERO_TENANT_ID": "t"})
        assert str(settings.source.base_url).rstrip("/") == sm8.url and settings.source.api_key == sm8.api_key
