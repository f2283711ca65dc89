"""The bearer-token validator: what it accepts, what it refuses and why, and how it follows a
key rotation. Keys are made here; the JWKS is served by a fetch function counting its calls."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from sangsaeng_common.http import Authenticator, NoRole
from sangsaeng_common.identity import IdentityUnavailable, InvalidToken, Jwks, TokenValidator, roles_in

ISSUER = "https://id.example.test/realms/sangsaeng"
AUDIENCE = "sangsaeng"
ALGORITHMS = ["RS256", "ES256", "EdDSA"]


class Provider:
    """An identity provider's keys and discovery document, as fetched over HTTP."""

    def __init__(self) -> None:
        self.keys: dict[str, tuple[Any, str]] = {}
        self.calls: list[str] = []
        self.down = False
        self.add("k1")

    def add(self, kid: str, kind: str = "RS256") -> None:
        private = {"RS256": lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048),
                   "ES256": lambda: ec.generate_private_key(ec.SECP256R1()),
                   "EdDSA": ed25519.Ed25519PrivateKey.generate}[kind]()
        self.keys[kid] = (private, kind)

    def jwks(self) -> dict[str, Any]:
        found = []
        for kid, (private, kind) in self.keys.items():
            algorithm = {"RS256": jwt.algorithms.RSAAlgorithm, "ES256": jwt.algorithms.ECAlgorithm, "EdDSA": jwt.algorithms.OKPAlgorithm}[kind]
            found.append({**json.loads(algorithm.to_jwk(private.public_key())), "kid": kid, "use": "sig", "alg": kind})
        return {"keys": found}

    async def fetch(self, url: str) -> dict[str, Any]:
        self.calls.append(url)
        if self.down:
            raise ValueError("connection refused")
        if url == f"{ISSUER}/.well-known/openid-configuration":
            return {"issuer": ISSUER, "jwks_uri": f"{ISSUER}/protocol/openid-connect/certs"}
        assert url == f"{ISSUER}/protocol/openid-connect/certs", url
        return self.jwks()

    def token(self, kid: str = "k1", **changes: Any) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "P-2001", "role": "planner", "planner_id": "planner-01",
                  "iat": now, "nbf": now, "exp": now + 300}
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        private, kind = self.keys[kid]
        return jwt.encode(claims, private, algorithm=kind, headers={"kid": kid})


def validator(provider: Provider, *, refetch_after_s: float = 0.0, clock=time.monotonic) -> TokenValidator:
    keys = Jwks(ISSUER, None, ALGORITHMS, fetch=provider.fetch, refetch_after_s=refetch_after_s, clock=clock)
    return TokenValidator(ISSUER, AUDIENCE, keys, algorithms=ALGORITHMS, leeway_s=30)


def refused(check: TokenValidator, token: str) -> str:
    with pytest.raises(InvalidToken) as caught:
        asyncio.run(check.identity(token))
    return str(caught.value)


def test_a_valid_token_names_its_subject_role_and_planner_and_the_keys_are_found_through_discovery():
    provider = Provider()
    found = asyncio.run(validator(provider).identity(provider.token()))
    assert (found.subject, found.roles, found.planner_id, found.agency) == ("P-2001", ("planner",), "planner-01", None)
    assert provider.calls == [f"{ISSUER}/.well-known/openid-configuration", f"{ISSUER}/protocol/openid-connect/certs"]


def test_keys_are_cached_not_fetched_per_token():
    provider = Provider()
    check = validator(provider, refetch_after_s=60)

    async def many() -> None:
        for _ in range(20):
            await check.identity(provider.token())

    asyncio.run(many())
    assert len(provider.calls) == 2


def test_expired_and_not_yet_valid_tokens_are_refused_beyond_the_leeway():
    provider = Provider()
    check = validator(provider)
    now = int(time.time())
    assert refused(check, provider.token(exp=now - 31)) == "expired"
    assert refused(check, provider.token(nbf=now + 120)) == "not yet valid (nbf/iat)"
    assert refused(check, provider.token(iat=now + 120)) == "not yet valid (nbf/iat)"
    asyncio.run(check.identity(provider.token(exp=now - 10)))  # within the 30 s leeway: clocks drift


def test_a_token_missing_exp_or_sub_is_refused():
    provider = Provider()
    check = validator(provider)
    assert refused(check, provider.token(exp=None)) == "missing claim exp"
    assert refused(check, provider.token(sub=None)) == "missing claim sub"


def test_wrong_audience_and_wrong_issuer_are_refused():
    provider = Provider()
    check = validator(provider)
    assert refused(check, provider.token(aud="account")) == "wrong audience (aud): not for sangsaeng"
    assert refused(check, provider.token(aud=None)).startswith(("wrong audience", "missing claim aud"))
    assert refused(check, provider.token(iss="https://evil.example.test")) == "wrong issuer (iss)"
    asyncio.run(check.identity(provider.token(aud=["account", AUDIENCE])))  # one of several audiences is enough


def test_a_token_signed_by_another_key_under_a_known_kid_is_refused():
    provider = Provider()
    check = validator(provider)
    forger = Provider()  # its own "k1", not the provider's
    assert "signature verification failed" == refused(check, forger.token())


def test_a_tampered_token_is_refused():
    provider = Provider()
    header, payload, signature = provider.token().split(".")
    forged_payload = jwt.utils.base64url_encode(json.dumps({**jwt.decode(provider.token(), options={"verify_signature": False}),
                                                            "role": "staff"}).encode()).decode()
    assert "signature verification failed" == refused(validator(provider), f"{header}.{forged_payload}.{signature}")


def test_alg_none_and_hmac_with_the_public_key_are_refused():
    provider = Provider()
    check = validator(provider)
    claims = jwt.decode(provider.token(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "k1"})
    assert refused(check, unsigned) == "algorithm 'none' is not accepted"
    public = json.dumps(provider.jwks()["keys"][0]).encode()  # an attacker knows the public key and "signs" with it
    b64 = jwt.utils.base64url_encode
    signing_input = b64(json.dumps({"alg": "HS256", "kid": "k1"}).encode()) + b"." + b64(json.dumps(claims).encode())
    hmac_token = (signing_input + b"." + b64(hmac.new(public, signing_input, hashlib.sha256).digest())).decode()
    assert refused(check, hmac_token) == "algorithm 'HS256' is not accepted"
    with pytest.raises(ValueError, match="asymmetric"):
        TokenValidator(ISSUER, AUDIENCE, Jwks(ISSUER, None, ["HS256"]), algorithms=["HS256"])


def test_a_token_whose_alg_differs_from_its_key_is_refused():
    provider = Provider()
    provider.add("k2", "ES256")
    check = validator(provider)
    # signed by the EC key but presented under the RSA key's kid: the key decides the algorithm, not the header
    token = jwt.encode({"sub": "x"}, provider.keys["k2"][0], algorithm="ES256", headers={"kid": "k1"})
    assert "does not match" in refused(check, token)


def test_malformed_tokens_are_refused():
    check = validator(Provider())
    for token in ("not-a-token", "a.b.c", "", "eyJhbGciOiJSUzI1NiJ9.e30"):
        assert refused(check, token).startswith("malformed"), token


def test_an_unknown_kid_fetches_the_keys_again_so_a_rotated_key_is_accepted():
    provider = Provider()
    now = [0.0]
    check = validator(provider, refetch_after_s=5, clock=lambda: now[0])
    asyncio.run(check.identity(provider.token()))
    provider.add("k2", "ES256")  # the provider rotates: a new key signs from now on
    now[0] = 6.0
    found = asyncio.run(check.identity(provider.token("k2")))
    assert found.subject == "P-2001" and check.keys.fetches == 2
    provider.add("k3", "EdDSA")
    now[0] = 7.0  # too soon after the last fetch: a flood of unknown kids does not hammer the provider
    assert "unknown key" in refused(check, provider.token("k3"))
    assert check.keys.fetches == 2
    now[0] = 12.0
    asyncio.run(check.identity(provider.token("k3")))
    assert check.keys.fetches == 3


def test_a_token_found_valid_is_remembered_until_it_expires_and_forgotten_when_the_keys_change():
    provider = Provider()
    now = [time.time()]
    keys = Jwks(ISSUER, None, ALGORITHMS, fetch=provider.fetch, refetch_after_s=0, max_age_s=3600, clock=lambda: now[0])
    check = TokenValidator(ISSUER, AUDIENCE, keys, algorithms=ALGORITHMS, leeway_s=30, clock=lambda: now[0])
    token = provider.token(exp=int(now[0]) + 60)
    asyncio.run(check.identity(token))
    verified = []
    original = jwt.decode
    jwt.decode = lambda *a, **k: verified.append(1) or original(*a, **k)  # count signature checks
    try:
        asyncio.run(check.identity(token))
        assert verified == []  # a repeat: no signature check
        now[0] += 95  # past exp and the leeway
        assert refused(check, token) == "expired"
        fresh = provider.token()
        asyncio.run(check.identity(fresh))
        assert verified == [1]
        provider.keys.pop("k1")
        provider.add("k2")  # the provider drops the key that signed it
        now[0] += 3601  # the set is fetched again after max_age_s
        asyncio.run(check.identity(provider.token("k2")))
        assert "unknown key" in refused(check, fresh)  # remembered no more: checked again, and its key is gone
    finally:
        jwt.decode = original


def test_a_provider_that_cannot_be_reached_is_unavailable_not_a_bad_token_and_held_keys_keep_working():
    provider = Provider()
    provider.down = True
    check = validator(provider, refetch_after_s=0)
    with pytest.raises(IdentityUnavailable):
        asyncio.run(check.identity(provider.token()))
    provider.down = False
    asyncio.run(check.identity(provider.token()))
    provider.down = True
    asyncio.run(check.identity(provider.token()))  # the held keys go on verifying while the provider is away


def test_a_discovery_document_naming_another_issuer_is_not_trusted():
    provider = Provider()
    fetch = provider.fetch

    async def impostor(url: str) -> dict[str, Any]:
        found = await fetch(url)
        return {**found, "issuer": "https://evil.example.test"} if url.endswith("openid-configuration") else found

    keys = Jwks(ISSUER, None, ALGORITHMS, fetch=impostor)
    with pytest.raises(IdentityUnavailable, match="names issuer"):
        asyncio.run(TokenValidator(ISSUER, AUDIENCE, keys, algorithms=ALGORITHMS).identity(provider.token()))


@pytest.mark.parametrize(
    ("claims", "roles"),
    [
        ({"role": "staff"}, ("staff",)),
        ({"roles": ["auditor", "offline_access"]}, ("auditor",)),
        ({"realm_access": {"roles": ["default-roles-sangsaeng", "loan_officer", "uma_authorization"]}}, ("loan_officer",)),
        ({"role": "staff", "roles": ["staff", "auditor"], "realm_access": {"roles": ["operator"]}}, ("staff", "auditor", "operator")),
        ({"roles": "staff"}, ()),  # a string where a list belongs is no list of roles
        ({}, ()),
    ],
)
def test_roles_come_from_role_roles_and_keycloaks_realm_access(claims, roles):
    assert roles_in(claims) == roles


def test_claims_become_the_principal_and_an_agency_needs_its_agency():
    provider = Provider()
    auth = Authenticator(validator(provider))
    agency = asyncio.run(auth.principal(provider.token(sub="G-SEMAS", role="agency", agency="SEMAS", planner_id=None)))
    assert (agency.role, agency.agency, agency.subject, agency.name) == ("agency", "SEMAS", "G-SEMAS", "G-SEMAS")
    planner = asyncio.run(auth.principal(provider.token()))
    assert (planner.role, planner.subject, planner.planner_id, planner.roles) == ("planner", "P-2001", "planner-01", ("planner",))
    assert "agency claim" in refused(auth.validator, provider.token(role="agency", agency=None))
    with pytest.raises(NoRole):
        asyncio.run(auth.principal(provider.token(role="visitor")))


def test_a_service_without_an_issuer_refuses_every_token():
    class Settings:
        auth_issuer = ""

    with pytest.raises(InvalidToken, match="AUTH_ISSUER"):
        asyncio.run(Authenticator.from_settings(Settings()).principal(Provider().token()))


def test_require_answers_401_with_the_reason_403_for_a_role_not_admitted_and_acts_in_an_admitted_role():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from sangsaeng_common.http import Principal, install_problem_handlers, require

    provider = Provider()
    app = FastAPI()
    app.state.authenticator = Authenticator(validator(provider))
    install_problem_handlers(app)

    @app.get("/ledger")
    async def ledger(principal: Principal = require("auditor", "operator")) -> dict:
        return {"role": principal.role, "roles": list(principal.roles), "subject": principal.name}

    with TestClient(app) as client:
        def bearer(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        both = client.get("/ledger", headers=bearer(provider.token(sub="A-4001", role=None, roles=["staff", "auditor"])))
        assert both.json() == {"role": "auditor", "roles": ["staff", "auditor"], "subject": "A-4001"}
        planner = client.get("/ledger", headers=bearer(provider.token()))
        assert planner.status_code == 403 and planner.headers["content-type"] == "application/problem+json"
        assert "allowed: auditor, operator" in planner.json()["detail"]
        expired = client.get("/ledger", headers=bearer(provider.token(exp=int(time.time()) - 600)))
        assert expired.status_code == 401 and expired.json()["detail"] == "expired"
        assert expired.headers["www-authenticate"] == 'Bearer error="invalid_token", error_description="expired"'
        none = client.get("/ledger", headers=bearer(provider.token(role="visitor")))
        assert none.status_code == 403 and "no role of this system" in none.json()["detail"]
        assert client.get("/ledger").headers["www-authenticate"] == "Bearer"
