"""`jobsync users add|list`: the console's accounts. The password is read without echo, or from an
environment variable named with --password-env (for scripts), never from the command line."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from jobsync.app import users
from jobsync.app.controls import who
from jobsync.cli.support import ConfigOpt, guarded, out
from jobsync.config.settings import load_settings
from jobsync.core.errors import ConfigError

users_app = typer.Typer(help="The web console's accounts.", no_args_is_help=True)


@users_app.command("add")
@guarded
def add(
    name: Annotated[str, typer.Argument(help="The sign-in name.")],
    role: Annotated[str, typer.Option("--role", help="bookkeeper (acts) or viewer (reads only).")] = "viewer",
    password_env: Annotated[
        str | None, typer.Option("--password-env", help="Read the password from this environment variable.")
    ] = None,
    config: ConfigOpt = None,
) -> None:
    """Add a console user, or set an existing one's role and password."""
    settings = load_settings(config)
    if password_env:
        password = os.environ.get(password_env, "")
        if not password:
            raise ConfigError(f"the environment variable {password_env} is empty or not set")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    user = users.add(settings, name, role, password, who())
    out.print(f"✓ {user.name} ({user.role}) can sign in to the console", markup=False, highlight=False)


@users_app.command("remove")
@guarded
def remove(name: Annotated[str, typer.Argument(help="The sign-in name.")], config: ConfigOpt = None) -> None:
    """Remove a console user; their open sessions stop working at once."""
    users.remove(load_settings(config), name, who())
    out.print(f"✓ {name} can no longer sign in", markup=False, highlight=False)


@users_app.command("list")
@guarded
def list_users(config: ConfigOpt = None) -> None:
    """The console's users and their roles."""
    for user in users.listed(load_settings(config)):
        out.print(f"{user.name}\t{user.role}", markup=False, highlight=False)
