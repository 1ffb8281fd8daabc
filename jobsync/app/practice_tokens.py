"""The practice's token vault: every org's Xero tokens in its database, sealed with keys from the
environment. Moving a single business's token file in, and re-sealing under a new key."""

from __future__ import annotations

from pathlib import Path

from jobsync.config.settings import load_settings
from jobsync.core.errors import ConfigError
from jobsync.state.token_vault import DatabaseVault, new_key, rotate, sealer
from jobsync.xero.token_store import LOCK_WAIT_SECONDS, TokenSet, load, save_to

__all__ = ["import_tokens", "new_key", "rotate_keys"]


def import_tokens(url: str, org: str, config: Path, token_file: Path) -> TokenSet:
    """Seal the token file of a business joining the practice into the vault, under the org's name.
    Its config must already read its tokens from the vault, or the next run would look in the file."""
    vault_settings = load_settings(config).xero.auth.token_vault
    if vault_settings is None or vault_settings.org != org:
        raise ConfigError(
            f"{config} does not read its Xero tokens from the practice's vault as org {org!r}",
            [f"add to its xero.auth: token_vault: {{url: ${{JOBSYNC_PRACTICE_URL}}, org: {org}}}"],
        )
    tokens = load(token_file)
    if tokens is None:
        raise ConfigError(f"no Xero tokens in {token_file}", ["name the org's .tokens.toml file"])
    vault = DatabaseVault(url, org, sealer())
    with vault.lock(LOCK_WAIT_SECONDS):
        save_to(vault, tokens)
    return tokens


def rotate_keys(url: str) -> int:
    """Re-seal every org's tokens with the newest key in JOBSYNC_TOKEN_KEYS; no org authorises again."""
    return rotate(url, sealer())
