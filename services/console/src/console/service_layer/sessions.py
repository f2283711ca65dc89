"""Signed session cookies holding the signed-in person's access token, CSRF tokens, and the
short-lived state of a sign-in under way (PKCE).

A person signs in at the center's identity provider (the authorization-code flow with PKCE,
adapters/oidc.py); the console keeps their access token in the session cookie, signed and
timestamped (itsdangerous), HttpOnly and SameSite=Lax, and calls the services' APIs with it:
every event a page's command causes names that person. A token about to run out is renewed with the
refresh token the provider gave (the routes do it before a page calls an API); without one, or when
the provider refuses, the session ends with the token.
The CSRF token of a session is an HMAC of its sid under the secret key: every form carries it,
every POST is checked against it (a form without it, or with another session's, is refused with 403)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from console.adapters.oidc import Pkce
from sangsaeng_common.identity import Identity

COOKIE = "sangsaeng_session"
SIGN_IN_COOKIE = "sangsaeng_sign_in"
SIGN_IN_MAX_AGE_S = 600
RENEW_BEFORE_S = 60
#: The roles the console has pages for, in the order a person holding several acts in.
ROLES = ("staff", "planner", "loan_officer", "auditor", "operator", "agency")


@dataclass(frozen=True)
class User:
    """The signed-in person, as their token names them (no name: a subject id, as events carry)."""

    subject: str
    role: str  # the role the console shows pages for
    planner_id: str | None = None
    agency: str | None = None

    @property
    def name(self) -> str:
        return self.subject


@dataclass(frozen=True)
class Session:
    username: str  # the subject id
    user: User
    sid: str
    token: str  # the person's access token: the console calls the APIs with it
    expires_at: float
    refresh_token: str | None = None

    def renew_due(self, now: float) -> bool:
        """The access token runs out within a minute: renew it before calling with it."""
        return self.expires_at - RENEW_BEFORE_S <= now


class Sessions:
    def __init__(self, secret_key: str, max_age_s: int, clock=time.time):
        self.secret = secret_key.encode()
        self.max_age_s = max_age_s
        self._clock = clock
        self._serializer = URLSafeTimedSerializer(secret_key, salt="sangsaeng-console-session")
        self._sign_in = URLSafeTimedSerializer(secret_key, salt="sangsaeng-console-sign-in")

    def start(self, identity: Identity, token: str, refresh_token: str | None = None, *, sid: str | None = None) -> str | None:
        """The new session's cookie value (a renewed one keeps its `sid`, so its forms' CSRF tokens stay good),
        or None when the token holds no role the console serves."""
        role = next((r for r in ROLES if r in identity.roles), None)
        if role is None:
            return None
        return self._serializer.dumps({"u": identity.subject, "r": role, "p": identity.planner_id, "a": identity.agency,
                                       "t": token, "x": identity.expires_at, "rt": refresh_token, "s": sid or secrets.token_urlsafe(16)})

    def session(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age_s)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(data, dict) or (float(data.get("x", 0)) <= self._clock() and not data.get("rt")):
            return None  # the token has expired and cannot be renewed: sign in again
        return Session(data["u"], User(data["u"], data["r"], data.get("p"), data.get("a")), data["s"], data["t"], float(data["x"]),
                       data.get("rt"))

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self.secret, f"csrf:{session.sid}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), token or "")

    # ------------------------------------------------------------ a sign-in under way

    def sign_in_cookie(self, pkce: Pkce, next_path: str) -> str:
        """What the browser keeps while it is at the identity provider: the PKCE secrets and where to go after."""
        return self._sign_in.dumps({"st": pkce.state, "v": pkce.verifier, "n": next_path})

    def sign_in_of(self, cookie: str | None, state: str) -> tuple[Pkce, str] | None:
        """The sign-in this browser began, if `state` is the one it was sent with (else a forged or stale answer)."""
        if not cookie or not state:
            return None
        try:
            data = self._sign_in.loads(cookie, max_age=SIGN_IN_MAX_AGE_S)
        except (BadSignature, SignatureExpired):
            return None
        if not hmac.compare_digest(str(data.get("st", "")), state):
            return None
        return Pkce(data["st"], data["v"]), str(data.get("n") or "/")
