"""The bookkeeper's console inside `jobsync serve`: its pages, its forms and its static files."""

from __future__ import annotations

from pathlib import Path

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from jobsync.config.settings import Settings
from jobsync.web import console_forms, console_pages
from jobsync.web.console_base import Console

STATIC = Path(__file__).with_name("static")


def console_routes(settings: Settings, practice_url: str | None = None) -> list[BaseRoute]:
    console = Console(settings, practice_url)
    return [
        *console_pages.routes(console),
        *console_forms.routes(console),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
