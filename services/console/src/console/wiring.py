"""What the routes share: settings, sessions, the API client, the identity provider, live events, templates (built by bootstrap)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from console.adapters.api import Services
from console.adapters.live import LiveEvents
from console.adapters.oidc import IdentityProvider
from console.config import ConsoleSettings
from console.domain import formatting, labels
from console.domain.navigation import navigation
from console.service_layer.sessions import COOKIE, Session, Sessions
from sangsaeng_common.clock import SeoulClock

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def field_error(errors: dict[str, str], name: str) -> str:
    """The API's message for field `name` (or one of its parts, e.g. follow_ups.0.due_on)."""
    if name in errors:
        return errors[name]
    return "; ".join(m for f, m in errors.items() if f.startswith(name + ".") or f.startswith(name + "["))


@dataclass
class Console:
    settings: ConsoleSettings
    sessions: Sessions
    api: Services
    identity: IdentityProvider
    live: LiveEvents
    clock: SeoulClock
    templates: Environment = field(init=False)
    helpers: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        self.templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]), trim_blocks=True,
                                     lstrip_blocks=True)
        self.helpers = {
            "kdate": formatting.korean_date, "kdatetime": formatting.korean_datetime, "won": formatting.won,
            "won_short": formatting.won_short, "regno": formatting.registration_number, "percent": formatting.percent,
            "L": labels, "label": labels.label, "field_error": field_error,
            # a fresh Idempotency-Key per rendered form: a double tap sends the same key, so the API records once
            "new_key": lambda: str(uuid.uuid4()),
        }
        self.templates.globals.update(self.helpers)

    def today(self) -> date:
        return self.clock.today()

    def set_session_cookie(self, response: Response, cookie: str) -> None:
        """The session cookie: for the configured hours when the provider renews its token, else until the token ends."""
        session = self.sessions.session(cookie)
        hours = self.settings.console_session_hours * 3600
        lasts = hours if session is None or session.refresh_token else min(hours, session.expires_at - time.time())
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="lax", secure=self.settings.console_cookie_secure,
                            max_age=max(1, int(lasts)))

    def render(self, request: Request, session: Session | None, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
        body = self.templates.get_template(template).render(
            request=request, session=session, user=session.user if session else None,
            nav=navigation(session.user.role) if session else (),
            csrf_token=self.sessions.csrf_token(session) if session else context.get("csrf", ""),
            path=request.url.path, **context,
        )
        return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})
