"""A small local OpenID Connect issuer for development and tests: what the center's identity
provider (Keycloak in production) is to the services, for the development users
(`users.DEV_USERS`) only.

It serves the discovery document (`/.well-known/openid-configuration`), its signing keys
(`/jwks`) and a token endpoint (`/token`) with two grants:

- `password` for people: `username` = the subject id (`S-1001`, `P-2001`, ...), `password` =
  `DEV_PASSWORD`;
- `client_credentials` for systems (an agency's integration): `client_id` = the subject id
  (`G-SEMAS`), `client_secret` = `DEV_PASSWORD`;

and the authorization-code flow with PKCE (S256) for the console (`/authorize` shows a sign-in
form, `/token` with `grant_type=authorization_code` redeems the code once, with its verifier, for an
access token and a refresh token; `grant_type=refresh_token` renews both, each refresh token once).

Access tokens are RS256 JWTs carrying `iss`, `aud`, `sub`, `role`, `roles`, `planner_id` /
`agency`, `iat`, `nbf`, `exp`, `jti`. The key pair is made at start and kept in memory: a token
is good as long as the issuer that signed it runs. `rotate()` adds a new signing key (the old
one stays in the JWKS until `retire()`), as a provider's key rotation would.

Never for production: the password is published in the README.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from .users import DEV_USERS, DevUser

__all__ = ["AUDIENCE", "DEFAULT_PORT", "DEV_PASSWORD", "Issuer", "SigningKey"]

DEFAULT_PORT = 8009
AUDIENCE = "sangsaeng"
#: The development users' password (and the systems' client secret). Published: development only.
DEV_PASSWORD = "sangsaeng-dev"
TOKEN_TTL_S = 3600
CODE_TTL_S = 60
REFRESH_TTL_S = 12 * 3600


@dataclass
class SigningKey:
    kid: str
    private: rsa.RSAPrivateKey

    @classmethod
    def generate(cls) -> SigningKey:
        return cls(f"dev-{uuid.uuid4().hex[:12]}", rsa.generate_private_key(public_exponent=65537, key_size=2048))

    def jwk(self) -> dict[str, Any]:
        public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}


@dataclass
class _Code:
    subject: str
    client_id: str
    redirect_uri: str
    challenge: str
    expires: float


@dataclass
class Issuer:
    """The issuer, served by `start()` on a thread of this process until `stop()`."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT  # 0: any free port
    audience: str = AUDIENCE
    token_ttl_s: int = TOKEN_TTL_S
    users: tuple[DevUser, ...] = DEV_USERS
    keys: list[SigningKey] = field(default_factory=lambda: [SigningKey.generate()])
    # where /authorize may send a code: this machine only (a console under `make run` or a test), never elsewhere
    redirect_hosts: tuple[str, ...] = ("127.0.0.1", "localhost")
    _server: ThreadingHTTPServer | None = field(default=None, init=False, repr=False)
    _codes: dict[str, _Code] = field(default_factory=dict, init=False, repr=False)
    _refresh: dict[str, tuple[str, str, float]] = field(default_factory=dict, init=False, repr=False)  # token -> subject, client, until
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> Issuer:
        server = ThreadingHTTPServer((self.host, self.port), _handler(self))
        server.daemon_threads = True
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, name="dev-issuer", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        """The issuer identifier: every token's `iss`, and the base of its endpoints."""
        return f"http://{self.host}:{self.port}"

    def service_env(self) -> dict[str, str]:
        """What a service needs to trust this issuer."""
        return {"AUTH_ISSUER": self.url, "AUTH_AUDIENCE": self.audience}

    # ------------------------------------------------------------ keys

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk() for key in self.keys]}

    def rotate(self) -> SigningKey:
        """A new signing key, published beside the old ones; new tokens are signed with it."""
        key = SigningKey.generate()
        self.keys.append(key)
        return key

    def retire(self, kid: str) -> None:
        self.keys = [key for key in self.keys if key.kid != kid]

    # ------------------------------------------------------------ tokens

    def user(self, subject: str) -> DevUser:
        for found in self.users:
            if found.subject == subject:
                return found
        raise KeyError(f"no development user {subject}")

    def claims_for(self, subject: str, *, client_id: str = "sangsaeng-dev") -> dict[str, Any]:
        user = self.user(subject)
        now = int(time.time())
        return {
            "iss": self.url, "aud": self.audience, "azp": client_id, **user.claims(), "roles": [user.role],
            "iat": now, "nbf": now, "exp": now + self.token_ttl_s, "jti": uuid.uuid4().hex,
        }

    def sign(self, claims: dict[str, Any], *, key: SigningKey | None = None, headers: dict[str, Any] | None = None) -> str:
        """Any claims, signed with this issuer's newest key (or `key`): for tests of what a service refuses."""
        key = key or self.keys[-1]
        return jwt.encode(claims, key.private, algorithm="RS256", headers={"kid": key.kid, **(headers or {})})

    def token_for(self, subject: str, **changes: Any) -> str:
        """An access token for one development user (claims changed or removed — None — by `changes`)."""
        claims = self.claims_for(subject)
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        return self.sign(claims)

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/jwks",
            "token_endpoint": f"{self.url}/token",
            "authorization_endpoint": f"{self.url}/authorize",
            "grant_types_supported": ["password", "client_credentials", "authorization_code", "refresh_token"],
            "response_types_supported": ["code"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "subject_types_supported": ["public"],
            "claims_supported": ["sub", "role", "roles", "planner_id", "agency"],
        }

    # ------------------------------------------------------------ grants

    def _token_answer(self, subject: str, client_id: str, *, refresh: bool = False) -> dict[str, Any]:
        answer = {"access_token": self.sign(self.claims_for(subject, client_id=client_id)), "token_type": "Bearer",
                  "expires_in": self.token_ttl_s}
        if refresh:  # a signed-in person's session outlives one access token
            token = secrets.token_urlsafe(32)
            with self._lock:
                self._refresh[token] = (subject, client_id, time.time() + REFRESH_TTL_S)
            answer["refresh_token"] = token
        return answer

    def grant(self, form: dict[str, str], basic: tuple[str, str] | None) -> tuple[int, dict[str, Any]]:
        """The token endpoint's answer (status, JSON) to one request (RFC 6749)."""
        kind = form.get("grant_type", "")
        if kind == "password":
            subject = form.get("username", "")
            if not self._known(subject) or not secrets.compare_digest(form.get("password", ""), DEV_PASSWORD):
                return 400, {"error": "invalid_grant", "error_description": "unknown user or wrong password"}
            return 200, self._token_answer(subject, form.get("client_id") or "sangsaeng-dev")
        if kind == "client_credentials":
            client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
            if not self._known(client_id) or not secrets.compare_digest(secret, DEV_PASSWORD):
                return 401, {"error": "invalid_client", "error_description": "unknown client or wrong secret"}
            return 200, self._token_answer(client_id, client_id)
        if kind == "authorization_code":
            with self._lock:
                code = self._codes.pop(form.get("code", ""), None)  # a code is good once
            verifier = form.get("code_verifier", "")
            if (code is None or code.expires < time.time() or code.client_id != form.get("client_id")
                    or code.redirect_uri != form.get("redirect_uri") or _s256(verifier) != code.challenge):
                return 400, {"error": "invalid_grant", "error_description": "unknown, used or expired code, or a wrong verifier"}
            return 200, self._token_answer(code.subject, code.client_id, refresh=True)
        if kind == "refresh_token":
            with self._lock:
                held = self._refresh.pop(form.get("refresh_token", ""), None)  # rotated: each is good once
            if held is None or held[2] < time.time() or held[1] != form.get("client_id"):
                return 400, {"error": "invalid_grant", "error_description": "unknown, used or expired refresh token"}
            return 200, self._token_answer(held[0], held[1], refresh=True)
        return 400, {"error": "unsupported_grant_type"}

    def _known(self, subject: str) -> bool:
        return any(u.subject == subject for u in self.users)

    def authorize(self, params: dict[str, str], subject: str, password: str) -> str | None:
        """The redirect (with a code) for a person who signed in at /authorize; None if they did not."""
        if not self._known(subject) or not secrets.compare_digest(password, DEV_PASSWORD):
            return None
        code = secrets.token_urlsafe(24)
        with self._lock:
            now = time.time()
            self._codes = {c: v for c, v in self._codes.items() if v.expires >= now}
            self._codes[code] = _Code(subject, params["client_id"], params["redirect_uri"], params["code_challenge"], now + CODE_TTL_S)
        answer = {"code": code, **({"state": params["state"]} if params.get("state") else {})}
        return f"{params['redirect_uri']}{'&' if '?' in params['redirect_uri'] else '?'}{urlencode(answer)}"


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


_AUTHORIZE_PARAMS = ("response_type", "client_id", "redirect_uri", "code_challenge", "code_challenge_method", "state")


def _sign_in_page(params: dict[str, str], error: str = "") -> bytes:
    hidden = "".join(f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""))}">' for name in _AUTHORIZE_PARAMS)
    notice = f'<p role="alert">{html.escape(error)}</p>' if error else ""
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>Sign in — Sangsaeng development issuer</title>
<style>body{{font-family:system-ui,sans-serif;max-width:24rem;margin:2rem auto;padding:0 1rem}}
label{{display:block;margin:.8rem 0}}input{{display:block;width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}}
button{{padding:.6rem 1.2rem;font-size:1rem}}[role=alert]{{color:#b00020}}</style></head><body>
<h1>Sign in</h1><p>Development issuer: subject ids such as S-1001, P-2001, L-3001; password in the README.</p>{notice}
<form method="post" action="/authorize">{hidden}
<label>Subject id <input name="username" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in</button></form></body></html>""".encode()


def _handler(issuer: Issuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet: the services log what matters
            pass

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, document: dict[str, Any]) -> None:
            self._send(status, json.dumps(document).encode(), "application/json")

        def _form(self) -> dict[str, str]:
            length = int(self.headers.get("Content-Length") or 0)
            return {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}

        def _authorize_params(self, source: dict[str, str]) -> dict[str, str] | None:
            params = {name: source.get(name, "") for name in _AUTHORIZE_PARAMS}
            redirect = urlsplit(params["redirect_uri"])
            ok = (params["response_type"] == "code" and params["client_id"] and redirect.scheme in ("http", "https")
                  and redirect.hostname in issuer.redirect_hosts and params["code_challenge"] and params["code_challenge_method"] == "S256")
            return params if ok else None

        def do_GET(self) -> None:  # noqa: N802
            url = urlsplit(self.path)
            if url.path == "/.well-known/openid-configuration":
                return self._json(200, issuer.discovery())
            if url.path == "/jwks":
                return self._json(200, issuer.jwks())
            if url.path == "/authorize":
                params = self._authorize_params({k: v[0] for k, v in parse_qs(url.query).items()})
                if params is None:
                    return self._send(400, b"authorization request needs response_type=code, client_id, a redirect_uri on this machine "
                                      b"and a S256 code_challenge", "text/plain")
                return self._send(200, _sign_in_page(params), "text/html; charset=utf-8")
            return self._json(404, {"error": "not_found"})

        def do_POST(self) -> None:  # noqa: N802
            path = urlsplit(self.path).path
            form = self._form()
            if path == "/token":
                basic = None
                auth = self.headers.get("Authorization", "")
                if auth.startswith("Basic "):
                    try:
                        client_id, _, secret = base64.b64decode(auth[6:]).decode().partition(":")
                        basic = (client_id, secret)
                    except ValueError:
                        return self._json(401, {"error": "invalid_client"})
                status, answer = issuer.grant(form, basic)
                return self._json(status, answer)
            if path == "/authorize":
                params = self._authorize_params(form)
                if params is None:
                    return self._send(400, b"bad authorization request", "text/plain")
                redirect = issuer.authorize(params, form.get("username", ""), form.get("password", ""))
                if redirect is None:
                    return self._send(401, _sign_in_page(params, "Unknown subject id or wrong password."), "text/html; charset=utf-8")
                return self._send(303, b"", "text/plain", {"Location": redirect})
            return self._json(404, {"error": "not_found"})

    return Handler
