"""What every console route shares: the templates, the signed-in user, and the checks in front of an
action (signed in, allowed to act, the form's CSRF token)."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from jobsync.app import users
from jobsync.config.settings import Settings
from jobsync.web.console_auth import COOKIE, Session, Sessions, Throttle, same_token, signing_key

TEMPLATES = Path(__file__).with_name("templates")


def _money(value: object) -> str:
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)):,.2f}"


def _path_part(value: object) -> str:
    """A job id as one URL path segment: a job system's ids may hold '/', '#', '?' or spaces."""
    return quote(str(value), safe="")


def _dom_id(value: object) -> str:
    """A job id as an HTML id and CSS selector: ids from job systems are not always valid ones."""
    return "j" + hashlib.sha256(str(value).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Visitor:
    user: users.User
    session: Session


class Console:
    def __init__(self, settings: Settings, practice_url: str | None = None) -> None:
        self.settings = settings
        self.practice_url = practice_url  # `serve --org`: the practice page shows every org
        self.sessions = Sessions(signing_key(Path(settings.state.path)))
        self.throttle = Throttle()
        # Autoescape on for every template: a client named <script> is shown as text, everywhere.
        self.env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))
        self.env.filters["money"] = _money
        self.env.filters["pathpart"] = _path_part
        self.env.filters["domid"] = _dom_id

    def visitor(self, request: Request) -> Visitor | None:
        session = self.sessions.read(request.cookies.get(COOKIE))
        if session is None:
            return None
        user = users.find(self.settings, session.user)
        return Visitor(user, session) if user else None

    def page(self, request: Request, template: str, visitor: Visitor | None, status: int = 200, **ctx: Any) -> Response:
        body = self.env.get_template(template).render(
            user=visitor.user if visitor else None,
            csrf=visitor.session.csrf if visitor else "",
            path=request.url.path,
            in_practice=self.practice_url is not None,
            **ctx,
        )
        return HTMLResponse(body, status, headers=SECURITY_HEADERS)

    def signed_in(self, page: Page) -> Callable[[Request], Awaitable[Response]]:
        """The endpoint for a page only a signed-in user may see; others are sent to sign in."""

        async def endpoint(request: Request) -> Response:
            visitor = self.visitor(request)
            if visitor is None:
                return self.sign_in_first()
            return await page(self, request, visitor)

        return endpoint

    def sign_in_first(self) -> Response:
        return RedirectResponse("/login", 303)

    async def acting(self, request: Request) -> tuple[Visitor, dict[str, str]] | Response:
        """A POST from a bookkeeper with a valid CSRF token: the visitor and the form; else the refusal."""
        visitor = self.visitor(request)
        if visitor is None:
            return self.sign_in_first()
        form = {k: str(v) for k, v in (await request.form()).items()}
        if not same_token(form.get("csrf"), visitor.session.csrf):
            return self.page(request, "error.html", visitor, 403, title="Refused", message=CSRF_REFUSED)
        if not visitor.user.can_act:
            return self.page(request, "error.html", visitor, 403, title="Refused", message=VIEWER_REFUSED)
        return visitor, form


Page = Callable[[Console, Request, Visitor], Awaitable[Response]]
CSRF_REFUSED = (
    "This form was not sent from this console's own page (its security token is missing or old). Reload and try again."
)
VIEWER_REFUSED = "Your account can look but not act. Ask a bookkeeper, or an administrator to change your role."
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
