"""Sign-in against the configured users (argon2 hashes), signed session cookies, CSRF tokens.

The session cookie holds {user, sid} signed and timestamped (itsdangerous); it is HttpOnly and SameSite=Lax.
The CSRF token of a session is an HMAC of its sid under the secret key: every form carries it, every POST is
checked against it (a form without it, or with another session's, is refused with 403)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from console.config import User

COOKIE = "sangsaeng_session"
_hasher = PasswordHasher()
# Verifying against this when the user is unknown keeps the answer's time the same either way.
_DUMMY = _hasher.hash("not a password of anyone")


@dataclass(frozen=True)
class Session:
    username: str
    user: User
    sid: str


class Sessions:
    def __init__(self, users: dict[str, User], secret_key: str, max_age_s: int):
        self.users = users
        self.secret = secret_key.encode()
        self.max_age_s = max_age_s
        self._serializer = URLSafeTimedSerializer(secret_key, salt="sangsaeng-console-session")

    def sign_in(self, username: str, password: str) -> str | None:
        """The new session's cookie value, or None when name or password is wrong."""
        user = self.users.get(username)
        try:
            _hasher.verify(user.password_hash if user else _DUMMY, password)
        except (VerificationError, InvalidHashError):
            return None
        if user is None:
            return None
        return self._serializer.dumps({"u": username, "s": secrets.token_urlsafe(16)})

    def session(self, cookie: str | None) -> Session | None:
        if not cookie:
            return None
        try:
            data = self._serializer.loads(cookie, max_age=self.max_age_s)
        except (BadSignature, SignatureExpired):
            return None
        user = self.users.get(data.get("u", ""))
        if user is None:
            return None
        return Session(data["u"], user, data["s"])

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self.secret, f"csrf:{session.sid}".encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, session: Session, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_token(session), token or "")
