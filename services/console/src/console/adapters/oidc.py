"""The center's identity provider as the console uses it (OpenID Connect): the authorization-code
flow with PKCE for signing a person in, and the same token check every service does
(sangsaeng_common.identity) for knowing who the token names."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx

from sangsaeng_common.identity import Identity, IdentityUnavailable, InvalidToken, Jwks, TokenValidator
from sangsaeng_common.identity import discovery_url as discovery_url_of


@dataclass(frozen=True)
class Pkce:
    """One sign-in's secrets (RFC 7636): `state` ties the answer to this browser, `verifier` the code to this console."""

    state: str
    verifier: str

    @classmethod
    def new(cls) -> Pkce:
        return cls(secrets.token_urlsafe(24), secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        return base64.urlsafe_b64encode(hashlib.sha256(self.verifier.encode()).digest()).rstrip(b"=").decode()


@dataclass(frozen=True)
class Grant:
    """What the token endpoint gave: the person's access token, who it names, and (if the provider keeps a
    session) the refresh token that renews it."""

    token: str
    identity: Identity
    refresh_token: str | None


class SignInFailed(Exception):
    """The provider did not give a usable token for this sign-in (its message is for the person)."""


class IdentityProvider:
    def __init__(self, issuer: str, audience: str, jwks_url: str | None, algorithms: list[str], client_id: str,
                 client_secret: str | None, client: httpx.AsyncClient, discovery_url: str | None = None):
        self.issuer, self.client_id, self.client_secret, self.client = issuer, client_id, client_secret, client
        self.discovery_url = discovery_url or discovery_url_of(issuer)
        self._discovery: dict[str, Any] | None = None
        self._renewing = asyncio.Lock()
        self._renewed: dict[str, tuple[float, Grant]] = {}  # spent refresh token -> when, and what it gave
        self.validator = TokenValidator(issuer, audience, Jwks(issuer, jwks_url, algorithms), algorithms=algorithms)

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None:
            try:
                answer = await self.client.get(self.discovery_url)
                answer.raise_for_status()
                self._discovery = answer.json()
            except (httpx.HTTPError, ValueError) as exc:
                raise IdentityUnavailable(f"the identity provider cannot be reached: {exc!r}") from exc
        return self._discovery

    async def authorize_url(self, redirect_uri: str, pkce: Pkce) -> str:
        endpoint = (await self.discovery())["authorization_endpoint"]
        query = {"response_type": "code", "client_id": self.client_id, "redirect_uri": redirect_uri, "scope": "openid",
                 "state": pkce.state, "code_challenge": pkce.challenge, "code_challenge_method": "S256"}
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{urlencode(query)}"

    async def redeem(self, code: str, pkce: Pkce, redirect_uri: str) -> Grant:
        """The tokens for a sign-in's code, and who they name."""
        return await self._grant({"grant_type": "authorization_code", "code": code, "code_verifier": pkce.verifier,
                                  "redirect_uri": redirect_uri})

    async def renew(self, refresh_token: str) -> Grant:
        """A new access token for a session whose token runs out (the refresh token is spent: use the new one).
        A page and its fragments ask at once with the same refresh token: the first asks the provider, the
        others get its answer (a rotated refresh token is good once)."""
        async with self._renewing:
            now = time.monotonic()
            self._renewed = {old: (at, grant) for old, (at, grant) in self._renewed.items() if now - at < 60}
            if refresh_token in self._renewed:
                return self._renewed[refresh_token][1]
            grant = await self._grant({"grant_type": "refresh_token", "refresh_token": refresh_token})
            self._renewed[refresh_token] = (now, grant)
            return grant

    async def _grant(self, form: dict[str, str]) -> Grant:
        endpoint = (await self.discovery())["token_endpoint"]
        form = {**form, "client_id": self.client_id, **({"client_secret": self.client_secret} if self.client_secret else {})}
        try:
            answer = await self.client.post(endpoint, data=form)
        except httpx.HTTPError as exc:
            raise IdentityUnavailable(f"the identity provider cannot be reached: {exc!r}") from exc
        if answer.status_code != 200:
            raise SignInFailed(f"the identity provider refused the {form['grant_type']} grant ({answer.status_code})")
        body = answer.json()
        token, refresh_token = body.get("access_token"), body.get("refresh_token")
        if not isinstance(token, str):
            raise SignInFailed("the identity provider gave no access token")
        try:
            identity = await self.validator.identity(token)
        except InvalidToken as exc:
            raise SignInFailed(f"the identity provider's token is not valid here: {exc}") from None
        return Grant(token, identity, refresh_token if isinstance(refresh_token, str) else None)
