"""The local OIDC issuer over real HTTP: discovery, JWKS, and each grant it serves; its tokens
checked by the same validator the services use."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sangsaeng_common.identity import InvalidToken, Jwks, TokenValidator
from sangsaeng_devstack.issuer import DEV_PASSWORD, Issuer


@pytest.fixture
def issuer() -> Iterator[Issuer]:
    running = Issuer(port=0).start()
    try:
        yield running
    finally:
        running.stop()


def check(issuer: Issuer, token: str):
    validator = TokenValidator(issuer.url, "sangsaeng", Jwks(issuer.url, None, ["RS256"]), algorithms=["RS256"])
    return asyncio.run(validator.identity(token))


def test_discovery_and_keys(issuer: Issuer) -> None:
    discovery = httpx.get(f"{issuer.url}/.well-known/openid-configuration").json()
    assert discovery["issuer"] == issuer.url and discovery["jwks_uri"] == f"{issuer.url}/jwks"
    assert discovery["token_endpoint"] == f"{issuer.url}/token" and discovery["code_challenge_methods_supported"] == ["S256"]
    old = issuer.keys[0].kid
    new = issuer.rotate().kid
    assert [k["kid"] for k in httpx.get(discovery["jwks_uri"]).json()["keys"]] == [old, new]
    assert all("d" not in k for k in httpx.get(discovery["jwks_uri"]).json()["keys"]), "no private part is published"


def test_the_password_grant_gives_a_person_a_token_the_services_accept(issuer: Issuer) -> None:
    answer = httpx.post(f"{issuer.url}/token", data={"grant_type": "password", "username": "P-2003", "password": DEV_PASSWORD})
    assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer" and answer.json()["expires_in"] == 3600
    found = check(issuer, answer.json()["access_token"])
    assert (found.subject, found.roles, found.planner_id) == ("P-2003", ("planner",), "planner-03")
    for wrong in ({"username": "P-2003", "password": "guess"}, {"username": "X-9999", "password": DEV_PASSWORD}):
        refused = httpx.post(f"{issuer.url}/token", data={"grant_type": "password", **wrong})
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_client_credentials_give_an_agency_integration_its_token(issuer: Issuer) -> None:
    in_form = httpx.post(f"{issuer.url}/token", data={"grant_type": "client_credentials", "client_id": "G-KBIZ", "client_secret": DEV_PASSWORD})
    in_header = httpx.post(f"{issuer.url}/token", data={"grant_type": "client_credentials"}, auth=("G-KBIZ", DEV_PASSWORD))
    for answer in (in_form, in_header):
        found = check(issuer, answer.json()["access_token"])
        assert (found.subject, found.roles, found.agency) == ("G-KBIZ", ("agency",), "KBIZ")
    refused = httpx.post(f"{issuer.url}/token", data={"grant_type": "client_credentials"}, auth=("G-KBIZ", "guess"))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert httpx.post(f"{issuer.url}/token", data={"grant_type": "implicit"}).json()["error"] == "unsupported_grant_type"


def test_the_authorization_code_flow_with_pkce(issuer: Issuer) -> None:
    verifier = "a-verifier-long-enough-to-be-unguessable-0123456789"
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {"response_type": "code", "client_id": "sangsaeng-console", "redirect_uri": "http://127.0.0.1:8006/auth/callback",
              "code_challenge": challenge, "code_challenge_method": "S256", "state": "s-1"}
    page = httpx.get(f"{issuer.url}/authorize", params=params)
    assert page.status_code == 200 and 'name="username"' in page.text and 'name="password"' in page.text
    assert httpx.post(f"{issuer.url}/authorize", data={**params, "username": "L-3002", "password": "guess"}).status_code == 401
    signed = httpx.post(f"{issuer.url}/authorize", data={**params, "username": "L-3002", "password": DEV_PASSWORD})
    assert signed.status_code == 303
    back = urlsplit(signed.headers["location"])
    assert f"{back.scheme}://{back.netloc}{back.path}" == params["redirect_uri"] and parse_qs(back.query)["state"] == ["s-1"]
    code = parse_qs(back.query)["code"][0]
    redeem = {"grant_type": "authorization_code", "code": code, "client_id": "sangsaeng-console", "redirect_uri": params["redirect_uri"]}
    assert httpx.post(f"{issuer.url}/token", data={**redeem, "code_verifier": "another"}).json()["error"] == "invalid_grant"
    # a wrong verifier spent the code: a code is good for one attempt only
    signed = httpx.post(f"{issuer.url}/authorize", data={**params, "username": "L-3002", "password": DEV_PASSWORD})
    redeem["code"] = parse_qs(urlsplit(signed.headers["location"]).query)["code"][0]
    answer = httpx.post(f"{issuer.url}/token", data={**redeem, "code_verifier": verifier})
    assert check(issuer, answer.json()["access_token"]).subject == "L-3002"
    # the refresh token renews the session's access token, once per refresh token, for its own client only
    refresh = {"grant_type": "refresh_token", "refresh_token": answer.json()["refresh_token"], "client_id": "another-client"}
    assert httpx.post(f"{issuer.url}/token", data=refresh).status_code == 400
    signed = httpx.post(f"{issuer.url}/authorize", data={**params, "username": "L-3002", "password": DEV_PASSWORD})
    code = parse_qs(urlsplit(signed.headers["location"]).query)["code"][0]
    first = httpx.post(f"{issuer.url}/token", data={**redeem, "code": code, "code_verifier": verifier}).json()
    refresh = {"grant_type": "refresh_token", "refresh_token": first["refresh_token"], "client_id": "sangsaeng-console"}
    renewed = httpx.post(f"{issuer.url}/token", data=refresh).json()
    assert check(issuer, renewed["access_token"]).subject == "L-3002" and renewed["refresh_token"] != first["refresh_token"]
    assert httpx.post(f"{issuer.url}/token", data=refresh).status_code == 400  # rotated: the old one is spent
    assert httpx.post(f"{issuer.url}/token", data={**redeem, "code_verifier": verifier}).status_code == 400  # used
    # a code is sent only to this machine, never to another host
    assert httpx.get(f"{issuer.url}/authorize", params={**params, "redirect_uri": "https://evil.example/cb"}).status_code == 400


def test_a_token_of_another_issuer_instance_is_refused(issuer: Issuer) -> None:
    other = Issuer(port=0).start()
    try:
        with pytest.raises(InvalidToken):
            check(issuer, other.sign({**issuer.claims_for("S-1001")}, key=other.keys[0]))
    finally:
        other.stop()
