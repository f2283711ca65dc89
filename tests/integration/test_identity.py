"""Identity against a running service: tokens from the real local issuer, whose JWKS the service
fetches over HTTP. What a valid token lets through (and names as the events' actor), what is
refused with 401 and why, a role not allowed (403), a key rotation, and a provider that is down."""

from __future__ import annotations

import httpx

from sangsaeng_devstack.issuer import DEV_PASSWORD, Issuer
from tests.support import business_body, eventually, free_port, headers_of, read_topic, refused_tokens, token_for, url_for

TOPIC = "sangsaeng.intake.events"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_token_from_the_issuer_is_accepted_and_its_subject_is_the_actor_of_the_events(stack):
    intake = await stack.start("intake")
    issuer_url = stack.env("intake")["AUTH_ISSUER"]
    async with httpx.AsyncClient(timeout=15) as client:
        # a person signs in at the issuer (password grant) as a client would, and calls with that token
        answer = await client.post(f"{issuer_url}/token", data={"grant_type": "password", "username": "S-1002", "password": DEV_PASSWORD})
        assert answer.status_code == 200 and answer.json()["token_type"] == "Bearer", answer.text
        token = answer.json()["access_token"]
        registered = await client.post(url_for(intake, "/businesses"), json=business_body(), headers=bearer(token))
        assert registered.status_code == 201, registered.text

        wrong_password = await client.post(f"{issuer_url}/token", data={"grant_type": "password", "username": "S-1002", "password": "guess"})
        assert wrong_password.status_code == 400 and wrong_password.json()["error"] == "invalid_grant"

    records = await eventually(lambda: read_topic(stack.bootstrap_servers, TOPIC), what="BusinessRegistered")
    assert [(headers_of(r)["ce_type"], headers_of(r)["ce_actor"]) for r in records] == [("sangsaeng.intake.BusinessRegistered.v1", "S-1002")]


async def test_invalid_tokens_are_refused_with_401_and_a_role_not_allowed_with_403(stack):
    intake = await stack.start("intake")
    async with httpx.AsyncClient(timeout=15) as client:
        url = url_for(intake, "/support-requests")
        for why, token in refused_tokens().items():
            refused = await client.get(url, headers=bearer(token))
            assert refused.status_code == 401, (why, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            assert refused.headers["www-authenticate"].startswith('Bearer error="invalid_token"'), why
            assert refused.json()["title"] == "Invalid token", why
        assert (await client.get(url, headers=bearer(refused_tokens()["expired"]))).json()["detail"] == "expired"
        assert "audience" in (await client.get(url, headers=bearer(refused_tokens()["wrong audience"]))).json()["detail"]

        missing = await client.get(url)
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"

        staff_only = url_for(intake, "/businesses/00000000-0000-0000-0000-000000000000/owners")
        forbidden = await client.get(staff_only, headers=bearer(token_for("P-2001")))
        assert forbidden.status_code == 403 and forbidden.headers["content-type"] == "application/problem+json", forbidden.text
        assert "planner" in forbidden.json()["detail"]
        admitted = await client.get(staff_only, headers=bearer(token_for("S-1001")))
        assert admitted.status_code == 404, admitted.text  # past the door: there is no such business


async def test_a_rotated_key_is_fetched_when_a_token_names_it(stack):
    own = Issuer(port=0).start()  # this test's own provider, so the rotation touches no other test
    try:
        intake = await stack.start("intake", **own.service_env(), AUTH_JWKS_REFETCH_AFTER_S="0.5")
        url = url_for(intake, "/support-requests")
        async with httpx.AsyncClient(timeout=15) as client:
            assert (await client.get(url, headers=bearer(own.token_for("S-1001")))).status_code == 200
            old = own.keys[-1]
            new = own.rotate()  # the provider publishes a new key and signs with it from now on
            token = own.token_for("S-1001")
            assert token != own.sign(own.claims_for("S-1001"), key=old)

            async def accepted() -> bool:
                return (await client.get(url, headers=bearer(token))).status_code == 200

            await eventually(accepted, timeout=10, what=f"a token signed by the rotated key {new.kid} accepted")
            # the old key stays published until its tokens have expired: they keep working
            assert (await client.get(url, headers=bearer(own.sign(own.claims_for("S-1001"), key=old)))).status_code == 200
            # the test run's issuer is another provider: its tokens mean nothing here
            assert (await client.get(url, headers=bearer(token_for("S-1001")))).status_code == 401
    finally:
        own.stop()


async def test_an_unreachable_identity_provider_is_a_503_not_a_401(stack):
    nowhere = f"http://127.0.0.1:{free_port()}"
    intake = await stack.start("intake", AUTH_ISSUER=nowhere)
    async with httpx.AsyncClient(timeout=15) as client:
        answer = await client.get(url_for(intake, "/support-requests"), headers=bearer(token_for("S-1001")))
    assert answer.status_code == 503 and answer.headers["retry-after"] == "2", answer.text
    assert answer.json()["title"] == "Identity provider unavailable"
