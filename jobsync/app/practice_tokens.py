"""The practice's token vault: every org's Xero tokens in its database, sealed with keys from the
environment. Moving a single business's token file in, and re-sealing under a new key."""

from __future__ import annotations

from pathlib import Path

from jobsync.app.wiring import xero_login
from jobsync.config.settings import load_settings
from jobsync.core.errors import ConfigError
from jobsync.state.token_vault import new_key, rotate, sealer
from jobsync.xero.token_store import LOCK_WAIT_SECONDS, TokenSet, load, save_to

__all__ = ["import_tokens", "new_key", "rotate_keys"]


def import_tokens(config: Path, token_file: Path) -> tuple[TokenSet, str]:
    """Seal the token file of a business joining the practice into the vault entry its config reads
    (its own, or a login it shares with other orgs); returns the tokens and where they went."""
    settings = load_settings(config)
    if settings.xero.auth.token_vault is None:
        raise ConfigError(
            f"{config} does not read its Xero tokens from the practice's vault",
            ["add to its xero.auth: token_vault: {url: ${JOBSYNC_PRACTICE_URL}, org: NAME}"],
        )
    tokens = load(token_file)
    if tokens is None:
        raise ConfigError(f"no Xero tokens in {token_file}", ["name the org's .tokens.toml file"])
    vault = xero_login(settings).tokens
    with vault.lock(LOCK_WAIT_SECONDS):
        save_to(vault, tokens)
    return tokens, vault.where


def rotate_keys(url: str) -> int:
    """Re-seal every org's tokens with the newest key in JOBSYNC_TOKEN_KEYS; no org authorises again."""
    return rotate(url, sealer())
