"""Who calls: bearer tokens are JWTs issued by the center's identity provider and validated
here against its JWKS, in the manner of OpenID Connect. PyJWT does the cryptography and the
claim checks; this module only finds the key (a cached JWKS, fetched again when a token names
a key it does not hold: the provider rotated its keys) and reads the claims into a Principal.

Settings (ServiceSettings): AUTH_ISSUER (the `iss` every token must carry), AUTH_AUDIENCE (an
`aud` it must include), AUTH_JWKS_URL (default: the issuer's discovery document's `jwks_uri`),
AUTH_ALGORITHMS (pinned; never `none` or an HMAC one, which would let a public key sign),
AUTH_LEEWAY_S (clock skew allowed on exp/nbf/iat)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from sangsaeng_common.logging import get_logger

log = get_logger(__name__)

__all__ = [
    "ASYMMETRIC_ALGORITHMS", "ROLES", "Identity", "IdentityUnavailable", "InvalidToken", "Jwks", "TokenValidator",
    "discovery_url", "roles_in",
]

#: The roles this system knows; a token's other roles (Keycloak's `offline_access`, ...) are ignored.
ROLES: tuple[str, ...] = ("staff", "planner", "loan_officer", "auditor", "operator", "agency")
#: The only algorithms a validator may be configured with: signatures by a private key that a
#: public JWKS verifies. An HMAC algorithm would accept a token "signed" with the public key.
ASYMMETRIC_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"})


class InvalidToken(Exception):
    """The token proves nothing: malformed, wrongly signed, expired, or not meant for us. A 401."""


class IdentityUnavailable(Exception):
    """The identity provider's keys cannot be had just now: a 503, not the caller's fault."""


Fetch = Callable[[str], Awaitable[dict[str, Any]]]


async def _get_json(url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        response = await client.get(url, headers={"Accept": "application/json"})
        response.raise_for_status()
        found = response.json()
    if not isinstance(found, dict):
        raise ValueError(f"{url} did not answer a JSON object")
    return found


def discovery_url(issuer: str) -> str:
    """Where OpenID Connect Discovery says an issuer publishes its configuration (naming its jwks_uri)."""
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


class Jwks:
    """The provider's signing keys by `kid`, fetched on first use and kept. A token naming an
    unknown `kid` makes it fetch again (at most once per `refetch_after_s`, so a flood of
    forged kids cannot make us hammer the provider); the whole set is also refreshed after
    `max_age_s`. Keys whose algorithm is not allowed, or meant for encryption, are skipped."""

    def __init__(self, issuer: str, jwks_url: str | None, algorithms: Iterable[str], *, fetch: Fetch = _get_json,
                 max_age_s: float = 3600.0, refetch_after_s: float = 5.0, clock: Callable[[], float] = time.monotonic):
        self.issuer, self.jwks_url, self.algorithms = issuer, jwks_url, frozenset(algorithms)
        self._fetch, self._clock = fetch, clock
        self.max_age_s, self.refetch_after_s = max_age_s, refetch_after_s
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._fingerprint: frozenset[str] = frozenset()  # the keys as published, to notice any change
        self._fetched_at: float | None = None
        self._failed_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0
        self.generation = 0

    async def key(self, kid: str | None) -> jwt.PyJWK:
        if self._fetched_at is None or self._clock() - self._fetched_at > self.max_age_s:
            await self._refresh()
        found = self._keys.get(kid)
        if found is None and self._clock() - (self._fetched_at or 0.0) >= self.refetch_after_s:
            await self._refresh()  # a key we do not hold yet: the provider may have rotated
            found = self._keys.get(kid)
        if found is None:
            raise InvalidToken(f"signed by an unknown key (kid {kid!r})")
        return found

    async def _refresh(self) -> None:
        fetched_before = self._fetched_at
        async with self._lock:
            if self._fetched_at != fetched_before:
                return  # another request refreshed while this one waited
            if not self._keys and self._failed_at is not None and self._clock() - self._failed_at < self.refetch_after_s:
                raise IdentityUnavailable("the identity provider's keys could not be fetched a moment ago")
            try:
                keys, fingerprint = await self._load()
            except (httpx.HTTPError, ValueError, jwt.PyJWKError, jwt.PyJWKSetError) as exc:
                self._failed_at = self._clock()
                if not self._keys:
                    raise IdentityUnavailable(f"the identity provider's keys cannot be fetched: {exc!r}") from exc
                log.warning("identity provider keys not refreshed; keeping the ones held", error=repr(exc))
                self._fetched_at = self._clock()  # try again after refetch_after_s / max_age_s, not on every request
                return
            if fingerprint != self._fingerprint:
                self.generation += 1  # tokens checked against the old set are checked again
            self._keys, self._fingerprint, self._fetched_at, self._failed_at = keys, fingerprint, self._clock(), None
            self.fetches += 1
            log.info("identity provider keys fetched", kids=sorted(k for k in keys if k))

    async def _load(self) -> tuple[dict[str | None, jwt.PyJWK], frozenset[str]]:
        url = self.jwks_url
        if not url:
            discovery = await self._fetch(discovery_url(self.issuer))
            if discovery.get("issuer") != self.issuer:  # OpenID Connect Discovery 1.0, 4.3
                raise ValueError(f"the discovery document names issuer {discovery.get('issuer')!r}, not {self.issuer!r}")
            url = discovery.get("jwks_uri")
            if not isinstance(url, str):
                raise ValueError("the discovery document names no jwks_uri")
            self.jwks_url = url
        document = await self._fetch(url)
        keys: dict[str | None, jwt.PyJWK] = {}
        published: set[str] = set()
        for data in document.get("keys", []):
            if not isinstance(data, dict) or data.get("use", "sig") != "sig":
                continue
            try:
                key = jwt.PyJWK(data)
            except (jwt.PyJWKError, jwt.InvalidKeyError) as exc:
                log.warning("identity provider key skipped", kid=data.get("kid"), error=repr(exc))
                continue
            if key.algorithm_name in self.algorithms:
                keys[data.get("kid")] = key
                published.add(json.dumps(data, sort_keys=True))
        if len(keys) == 1:
            keys.setdefault(None, next(iter(keys.values())))  # a token without kid is fine when there is one key
        return keys, frozenset(published)


@dataclass(frozen=True)
class Identity:
    """What a valid token says about its bearer (the claims this system reads)."""

    subject: str
    roles: tuple[str, ...]
    agency: str | None
    planner_id: str | None
    expires_at: float  # the token's exp (epoch seconds)


def roles_in(claims: dict[str, Any]) -> tuple[str, ...]:
    """This system's roles among a token's `role`, `roles` and Keycloak's `realm_access.roles`, in that order."""
    found: list[Any] = []
    if isinstance(claims.get("role"), str):
        found.append(claims["role"])
    for listed in (claims.get("roles"), (claims.get("realm_access") or {}).get("roles") if isinstance(claims.get("realm_access"), dict) else None):
        if isinstance(listed, list):
            found.extend(listed)
    return tuple(dict.fromkeys(r for r in found if isinstance(r, str) and r in ROLES))


def identity_of(claims: dict[str, Any]) -> Identity:
    roles = roles_in(claims)
    agency, planner_id = claims.get("agency"), claims.get("planner_id")
    if "agency" in roles and not (isinstance(agency, str) and agency):
        raise InvalidToken("an agency role needs an agency claim")
    if not isinstance(claims.get("sub"), str) or not claims["sub"]:
        raise InvalidToken("no subject (sub)")
    return Identity(claims["sub"], roles, agency if isinstance(agency, str) else None,
                    planner_id if isinstance(planner_id, str) else None, float(claims["exp"]))


class TokenValidator:
    """Checks a bearer JWT (signature by one of the issuer's keys, a pinned algorithm, iss, aud,
    exp, nbf, iat with a small leeway) and reads who it names.

    A client sends the same token with every request until it expires, so a token once found
    valid is remembered (its exact text, up to `remember` of them) until its `exp`: a repeat
    costs a dictionary lookup, not a signature check. The memory is dropped whenever the
    provider's key set changes."""

    def __init__(self, issuer: str, audience: str, keys: Jwks, *, algorithms: Sequence[str], leeway_s: float = 30.0,
                 remember: int = 4096, clock: Callable[[], float] = time.time):
        refused = set(algorithms) - ASYMMETRIC_ALGORITHMS
        if refused or not algorithms:
            raise ValueError(f"AUTH_ALGORITHMS may name only asymmetric signature algorithms; refused: {sorted(refused) or 'none given'}")
        if not issuer or not audience:
            raise ValueError("AUTH_ISSUER and AUTH_AUDIENCE must be set")
        self.issuer, self.audience, self.keys = issuer, audience, keys
        self.algorithms, self.leeway_s = list(algorithms), leeway_s
        self.remember, self._clock = remember, clock
        self._valid: OrderedDict[str, tuple[Identity, int]] = OrderedDict()  # token -> (identity, key set generation)

    async def identity(self, token: str) -> Identity:
        known = self._valid.get(token)
        if known is not None:
            found, generation = known
            if generation == self.keys.generation:
                if found.expires_at + self.leeway_s >= self._clock():
                    return found
                del self._valid[token]
                raise InvalidToken("expired")
            del self._valid[token]  # checked against a key set since changed: check again
        header = _header_of(token)
        alg = header.get("alg")
        if alg not in self.algorithms:
            raise InvalidToken(f"algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        key = await self.keys.key(kid if isinstance(kid, str) else None)
        try:
            claims = jwt.decode(
                token, key, algorithms=[alg], audience=self.audience, issuer=self.issuer, leeway=self.leeway_s,
                options={"require": ["exp", "iat", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("expired") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken(f"wrong audience (aud): not for {self.audience}") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("wrong issuer (iss)") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"missing claim {exc.claim}") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("not yet valid (nbf/iat)") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("signature verification failed") from None
        except jwt.InvalidTokenError as exc:
            raise InvalidToken(str(exc) or type(exc).__name__) from None
        found = identity_of(claims)
        self._valid[token] = (found, self.keys.generation)
        if len(self._valid) > self.remember:
            self._valid.popitem(last=False)
        return found


def _header_of(token: str) -> dict[str, Any]:
    """The JOSE header, read only to choose the key (PyJWT checks all of the token after)."""
    segment = token.split(".", 1)[0]
    if token.count(".") != 2:
        raise InvalidToken("malformed: not three dot-separated segments")
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, binascii.Error):
        raise InvalidToken("malformed: the header is not base64url JSON") from None
    if not isinstance(header, dict):
        raise InvalidToken("malformed: the header is not a JSON object")
    return header
