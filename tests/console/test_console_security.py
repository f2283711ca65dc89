"""The console's security against the real stack: sign-in at the identity provider required (a forged or
replayed answer refused), the person's own token on the APIs, CSRF on every form, roles (console and API),
stored XSS escaped."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from sangsaeng_devstack.issuer import DEV_PASSWORD
from sangsaeng_devstack.issuer import Issuer
from tests.console.conftest import ConsoleStack, sign_in_over_http, start_console
from tests.support import eventually, headers_for, headers_of, read_topic, url_for, valid_registration_number

pytestmark = pytest.mark.integration
PAGES = ["/", "/businesses", "/businesses/new", "/support-requests", "/planner/route", "/loans/queue", "/loans/overdue",
         "/loans/rounds", "/audit/verify", "/audit/report", "/audit/application", "/ops", "/agency/referrals",
         "/businesses/0197a0c4-5e2b-7c3e-9a51-2f1d3c4b5a69", "/audit/export?period=2025H1",
         "/businesses/0197a0c4-5e2b-7c3e-9a51-2f1d3c4b5a69/consents/0197a0c6-2222-7abc-8def-000000000002/withdraw"]


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "the form carries a CSRF token"
    return found.group(1)


async def signed_in(site: ConsoleStack, subject: str) -> httpx.AsyncClient:
    client, answer = await sign_in_over_http(site, subject)
    assert answer.status_code == 303 and COOKIE_NAME in answer.cookies, answer.text
    return client


async def test_console_security(console_stack: ConsoleStack) -> None:
    site = console_stack
    async with httpx.AsyncClient(base_url=site.console, timeout=30) as anonymous:
        for path in PAGES:
            answer = await anonymous.get(path)
            assert answer.status_code == 303 and answer.headers["location"].startswith("/login?next="), path
        # a wrong password is refused at the issuer: no code, no session
        refused_client, wrong = await sign_in_over_http(site, "S-1001", password="nope")
        await refused_client.aclose()
        assert wrong.status_code == 401 and COOKIE_NAME not in wrong.cookies
        # an answer to a sign-in this browser did not begin (a forged redirect: login CSRF) is refused …
        forged = await anonymous.get("/auth/callback", params={"code": "x", "state": "not-this-browsers"})
        assert forged.status_code == 400 and COOKIE_NAME not in forged.cookies
        # … and so is a code used once already (the issuer redeems a code only once)
        async with httpx.AsyncClient(timeout=30) as raw:
            begun = await anonymous.get("/login")
            authorize = httpx.URL(begun.headers["location"])
            redirect = (await raw.post(str(authorize.copy_with(query=None)),
                                       data={**dict(authorize.params), "username": "S-1001", "password": DEV_PASSWORD})).headers["location"]
        assert (await anonymous.get(redirect)).status_code == 303
        anonymous.cookies.clear()
        anonymous.cookies.set("sangsaeng_sign_in", begun.cookies["sangsaeng_sign_in"], path="/auth")
        replayed = await anonymous.get(redirect)
        assert replayed.status_code == 401 and COOKIE_NAME not in replayed.cookies
        anonymous.cookies.clear()
        # a forged cookie is no session
        anonymous.cookies.set(COOKIE_NAME, "eyJ1Ijoic3RhZmYiLCJzIjoieCJ9.forged.sig")
        assert (await anonymous.get("/businesses")).status_code == 303

    staff = await signed_in(site, "S-1001")
    planner = await signed_in(site, "P-2001")
    try:
        page = await staff.get("/businesses/new")
        assert page.status_code == 200
        cookie = staff.cookies.get(COOKIE_NAME)
        assert cookie
        set_cookie = (await _login_headers(site, "S-1002")).lower()
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie
        body = {"registration_number": valid_registration_number(), "name": "<script>alert('xss')</script> 분식",
                "dong": "제기동", "industry": "음식점업", "employees": "2", "stage": "operating", "registered_on": "2023-03-02"}
        # without the CSRF token, or with another session's, the form is refused and nothing is registered
        refused = await staff.post("/businesses", data=body)
        assert refused.status_code == 403 and "CSRF" in refused.text
        other = csrf_of((await planner.get("/businesses")).text)
        assert (await staff.post("/businesses", data={**body, "csrf": other})).status_code == 403
        search = await staff.get("/businesses", params={"q": "alert"})
        assert "xss" not in search.text
        # with it: registered; the name is escaped wherever it is shown (stored XSS)
        created = await staff.post("/businesses", data={**body, "csrf": csrf_of(page.text)})
        assert created.status_code == 303, created.text
        card = await staff.get(created.headers["location"])
        # the console called intake with the person's own token: the event names S-1001, not "the console" or a role
        registered = await eventually(lambda: read_topic(site.stack.bootstrap_servers, "sangsaeng.intake.events"), what="BusinessRegistered")
        assert [headers_of(r)["ce_actor"] for r in registered if headers_of(r)["ce_type"].endswith("BusinessRegistered.v1")] == ["S-1001"]
        assert "&lt;script&gt;alert(&#39;xss&#39;)&lt;/script&gt; 분식" in card.text
        assert "<script>alert(" not in card.text
        assert "script-src 'self'" in card.headers["content-security-policy"]
        listing = await staff.get("/businesses", params={"q": "alert"})
        assert "&lt;script&gt;" in listing.text and "<script>alert(" not in listing.text
        business_id = created.headers["location"].split("/")[2].split("?")[0]
        note = "<img src=x onerror=alert(1)>메모"
        posted = await staff.post(f"/businesses/{business_id}/support-requests",
                                  data={"needs": "consulting", "channel": "walk_in", "note": note, "csrf": csrf_of(card.text)})
        assert posted.status_code == 303
        card = await staff.get(f"/businesses/{business_id}")
        assert "&lt;img src=x onerror=alert(1)&gt;메모" in card.text and "<img src=x" not in card.text
        # consent withdrawal: the confirmation step is the server's too, and its form needs the CSRF token
        given = await staff.post(f"/businesses/{business_id}/consents",
                                 data={"agencies": "KOSME", "signed_by": "<i>김바른</i>", "csrf": csrf_of(card.text)})
        assert given.status_code == 303
        card = await staff.get(f"/businesses/{business_id}")
        withdraw_path = re.search(r'href="(/businesses/[^"]+/consents/[^"]+/withdraw)"', card.text).group(1)
        confirm = await staff.get(withdraw_path)
        assert "&lt;i&gt;김바른&lt;/i&gt;" in confirm.text and "<i>김바른" not in confirm.text
        assert (await staff.post(withdraw_path, data={"confirm": "withdraw"})).status_code == 403
        unconfirmed = await staff.post(withdraw_path, data={"csrf": csrf_of(confirm.text)})
        assert unconfirmed.status_code == 303 and unconfirmed.headers["location"] == withdraw_path
        assert "유효" in (await staff.get(f"/businesses/{business_id}")).text, "nothing withdrawn without the confirmation"
        assert (await planner.get(withdraw_path)).status_code == 403
        done = await staff.post(withdraw_path, data={"confirm": "withdraw", "csrf": csrf_of(confirm.text)})
        assert done.status_code == 303 and "notice=" in done.headers["location"]
        again = await staff.post(withdraw_path, data={"confirm": "withdraw", "csrf": csrf_of(confirm.text)})
        assert again.status_code == 303  # once withdrawn, a second withdrawal says so (intake's 409), no error page
        assert "이미 철회된 동의입니다" in (await staff.get(again.headers["location"])).text

        # a wrong registration number comes back beside its field, from the console's check
        bad = await staff.post("/businesses", data={**body, "registration_number": "220-81-62518", "csrf": csrf_of(page.text)})
        assert bad.status_code == 422 and "검증번호가 맞지 않습니다" in bad.text

        # a planner cannot open the loan officer's pages (a Korean message, no trace) …
        for path in ("/loans/queue", "/loans/rounds", "/loans/overdue", "/audit/verify", "/audit/export?period=2025H1", "/ops"):
            answer = await planner.get(path)
            assert answer.status_code == 403 and "권한이 없습니다" in answer.text and "Traceback" not in answer.text, path
        # … and the API refuses the planner's token too
        async with httpx.AsyncClient(timeout=30) as api:
            refused = await api.get(site.urls["loans"] + "/applications", headers=headers_for("P-2001"))
            assert refused.status_code == 403
        # sign-out ends the session
        out = await staff.post("/logout", data={"csrf": csrf_of(card.text)})
        assert out.status_code == 303
        assert (await staff.get("/businesses")).status_code == 303
    finally:
        await staff.aclose()
        await planner.aclose()


async def test_a_session_outlives_its_access_token_by_the_refresh_token(stack) -> None:
    """Access tokens are short-lived (Keycloak: minutes); the console renews the person's token with the
    refresh token before calling an API with it, and the session goes on without a new sign-in."""
    short = Issuer(port=0, token_ttl_s=63).start()  # due for renewal (a minute before its end) after 3 s
    try:
        intake = await stack.start("intake", **short.service_env())
        base = await start_console(stack, {"intake": url_for(intake, "")}, **short.service_env())
        site = ConsoleStack(stack, {"intake": url_for(intake, "")}, base)
        client, answer = await sign_in_over_http(site, "S-1002")
        try:
            assert answer.status_code == 303
            first = client.cookies[COOKIE_NAME]
            assert (await client.get("/businesses")).status_code == 200
            assert client.cookies[COOKIE_NAME] == first  # fresh enough: not renewed
            await asyncio.sleep(3.5)
            page = await client.get("/businesses")
            assert page.status_code == 200, page.text  # intake accepted the renewed token
            renewed = client.cookies[COOKIE_NAME]
            assert renewed != first and COOKIE_NAME in page.cookies
            assert (await client.get("/businesses")).status_code == 200 and client.cookies[COOKIE_NAME] == renewed
        finally:
            await client.aclose()
    finally:
        short.stop()


async def _login_headers(site: ConsoleStack, subject: str) -> str:
    client, answer = await sign_in_over_http(site, subject)
    await client.aclose()
    return "; ".join(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith(COOKIE_NAME))


COOKIE_NAME = "sangsaeng_session"
