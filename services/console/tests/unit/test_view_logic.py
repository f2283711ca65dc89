"""The console's view logic: Korean formatting, the registration-number check, paging, role → navigation,
the visit form's body, the metrics the operator's page reads, and the report chart's geometry."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest
from starlette.datastructures import FormData

from console.domain.formatting import korean_date, korean_datetime, percent, registration_number, won, won_short
from console.domain.navigation import allowed, home, navigation
from console.domain.paging import pager, parse_trail
from console.domain.registration import registration_problem
from console.service_layer.pages import current_half, parse_metrics, report_chart, visit_record_body
from console.adapters.oidc import Pkce
from console.service_layer.sessions import Sessions
from sangsaeng_common.identity import Identity


def test_korean_dates() -> None:
    assert korean_date(date(2025, 5, 12)) == "2025년 5월 12일"
    assert korean_date("2025-05-12", weekday=True) == "2025년 5월 12일 (월)"
    assert korean_date(None) == "—"
    # a moment is shown in Seoul: 15:30 UTC on 11 May is 00:30 on 12 May there
    assert korean_date(datetime(2025, 5, 11, 15, 30, tzinfo=UTC)) == "2025년 5월 12일"
    assert korean_datetime("2025-05-11T15:30:00Z") == "2025년 5월 12일 00:30"


@pytest.mark.parametrize(("amount", "full", "short"), [
    (30_000_000, "₩30,000,000", "3천만원"),
    (125_000_000, "₩125,000,000", "1억 2천5백만원"),
    (3_000_000_000, "₩3,000,000,000", "30억원"),
    (15_000, "₩15,000", "1만 5,000원"),
    (1_500, "₩1,500", "1,500원"),
    (0, "₩0", "0원"),
    (-20_000_000, "-₩20,000,000", "-2천만원"),
])
def test_korean_amounts(amount: int, full: str, short: str) -> None:
    assert won(amount) == full
    assert won_short(amount) == short


def test_registration_number_and_percent() -> None:
    assert registration_number("2208162517") == "220-81-62517"
    assert registration_problem("220-81-62517") is None
    assert "검증번호" in registration_problem("220-81-62518")
    assert "10자리" in registration_problem("220-81-6251")
    assert "숫자" in registration_problem("22O-81-62517")
    assert percent(1, 3) == 33 and percent(5, 0) == 0 and percent(7, 5) == 100


def test_paging_keeps_the_way_back() -> None:
    first = pager("/businesses", {"dong": "제기동", "q": ""}, [], None, "c1")
    assert first.page == 1 and first.previous_url is None
    assert first.next_url == "/businesses?dong=%EC%A0%9C%EA%B8%B0%EB%8F%99&cursor=c1&trail=-"
    second = pager("/businesses", {"dong": "제기동"}, parse_trail("-"), "c1", "c2")
    assert second.page == 2
    assert second.previous_url == "/businesses?dong=%EC%A0%9C%EA%B8%B0%EB%8F%99"  # back to the first page
    assert second.next_url.endswith("cursor=c2&trail=-%2Cc1")
    third = pager("/businesses", {}, parse_trail("-,c1"), "c2", None)
    assert third.page == 3 and third.next_url is None and third.previous_url == "/businesses?cursor=c1&trail=-"


def test_role_navigation() -> None:
    assert [i.path for i in navigation("planner")] == ["/planner/route", "/businesses", "/districts"]
    assert {r for r in ("staff", "planner", "loan_officer", "auditor", "operator", "agency")
            if any(i.path == "/districts" for i in navigation(r))} == {"staff", "planner", "auditor"}  # the districts API's readers
    assert home("loan_officer") == "/loans/queue" and home("auditor") == "/audit/verify" and home("operator") == "/ops"
    assert not any(i.path.startswith("/loans") for i in navigation("planner"))
    assert not any(i.path.startswith("/audit") for r in ("staff", "planner", "loan_officer") for i in navigation(r))
    assert navigation("nobody") == () and home("nobody") == "/"
    assert allowed("staff", "staff", "planner") and not allowed("planner", "loan_officer")


def _identity(subject: str = "S-1001", roles: tuple[str, ...] = ("staff",), expires_in: float = 600, **extra: str) -> Identity:
    return Identity(subject, roles, extra.get("agency"), extra.get("planner_id"), time.time() + expires_in)


def test_sessions_hold_the_persons_token_until_it_expires_and_csrf() -> None:
    sessions = Sessions("k" * 32, 3600)
    cookie = sessions.start(_identity(), "the-access-token")
    session = sessions.session(cookie)
    assert session and (session.user.role, session.user.subject, session.username, session.token) == ("staff", "S-1001", "S-1001", "the-access-token")
    assert sessions.session(cookie[:-2] + "xx") is None  # tampered
    assert Sessions("another-key" * 3, 3600).session(cookie) is None  # another key
    assert sessions.session(sessions.start(_identity(expires_in=-1), "old")) is None  # the token has expired: sign in again
    renewable = sessions.session(sessions.start(_identity(expires_in=-1), "old", "a-refresh-token"))
    assert renewable.refresh_token == "a-refresh-token" and renewable.renew_due(time.time())  # renewed before use
    assert not session.renew_due(time.time()) and session.renew_due(session.expires_at - 30)
    kept = sessions.session(sessions.start(_identity(), "new", "next-refresh-token", sid=session.sid))
    assert sessions.csrf_ok(kept, sessions.csrf_token(session))  # a renewed session keeps its forms' CSRF tokens
    token = sessions.csrf_token(session)
    assert sessions.csrf_ok(session, token) and not sessions.csrf_ok(session, "") and not sessions.csrf_ok(session, token[:-1] + "0")
    other = sessions.session(sessions.start(_identity(), "the-access-token"))
    assert not sessions.csrf_ok(other, token)  # a token is its session's own


def test_a_session_acts_in_the_first_console_role_and_a_token_without_one_gets_none() -> None:
    sessions = Sessions("k" * 32, 3600)
    planner = sessions.session(sessions.start(_identity("P-2001", ("offline_access", "planner"), planner_id="planner-01"), "t"))
    assert (planner.user.role, planner.user.planner_id) == ("planner", "planner-01")
    agency = sessions.session(sessions.start(_identity("G-SEMAS", ("agency",), agency="SEMAS"), "t"))
    assert (agency.user.role, agency.user.agency) == ("agency", "SEMAS")
    assert sessions.start(_identity("X-1", ()), "t") is None


def test_a_sign_in_answer_is_accepted_only_with_the_state_it_was_sent_with() -> None:
    sessions = Sessions("k" * 32, 3600)
    pkce = Pkce.new()
    cookie = sessions.sign_in_cookie(pkce, "/visits/route")
    assert sessions.sign_in_of(cookie, pkce.state) == (pkce, "/visits/route")
    assert sessions.sign_in_of(cookie, Pkce.new().state) is None  # another sign-in's answer (or a forged one)
    assert sessions.sign_in_of(cookie, "") is None and sessions.sign_in_of(None, pkce.state) is None
    assert sessions.sign_in_of(cookie[:-2] + "xx", pkce.state) is None
    # RFC 7636's S256: the challenge is the base64url SHA-256 of the verifier (its appendix B example)
    assert Pkce("s", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk").challenge == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_visit_form_body() -> None:
    form = FormData([("visited_on", "2025-05-12"), ("outcome", "met"), ("stage_observed", "closing"),
                     ("needs_identified", "loan"), ("needs_identified", "closure_support"), ("services_given", "폐업 절차 안내\n\n교육 안내"),
                     ("follow_up_action", "서류 확인"), ("follow_up_due", "2025-05-19"), ("follow_up_action", ""), ("follow_up_due", ""),
                     ("notes", "메모")])
    body, values = visit_record_body(form, "planner-01")
    assert body == {"planner_id": "planner-01", "visited_on": "2025-05-12", "outcome": "met", "stage_observed": "closing",
                    "needs_identified": ["loan", "closure_support"], "services_given": ["폐업 절차 안내", "교육 안내"],
                    "follow_ups": [{"action": "서류 확인", "due_on": "2025-05-19"}], "notes": "메모"}
    assert values["services_given"] == "폐업 절차 안내\n교육 안내"
    empty, _ = visit_record_body(FormData([("outcome", "owner_absent")]), "planner-01")
    assert "stage_observed" not in empty and "notes" not in empty and empty["follow_ups"] == []


def test_operator_metrics_and_report_chart() -> None:
    text = "\n".join([
        '# TYPE consumer_lag gauge', 'consumer_lag{consumer="sangsaeng.loans",partition="0",topic="sangsaeng.intake.events"} 3.0',
        'consumer_lag{consumer="sangsaeng.loans",partition="1",topic="sangsaeng.intake.events"} 4.0',
        '# TYPE dead_letters_total counter', 'dead_letters_total{consumer="sangsaeng.loans",reason="undecodable"} 2.0',
        '# TYPE outbox_backlog gauge', 'outbox_backlog{schema="loans"} 5.0',
        # what the page does not show is skipped before parsing (a busy service's HTTP histograms)
        '# HELP http_request_duration_seconds Time', '# TYPE http_request_duration_seconds histogram',
        'http_request_duration_seconds_bucket{le="0.1",route="/businesses"} 3.0', 'dead_letters_created{consumer="x"} 1.7e9', ""])
    parsed = parse_metrics(text)
    assert parsed["lag"] == [{"consumer": "sangsaeng.loans", "topic": "sangsaeng.intake.events", "lag": 7}]
    assert parsed["dead_letters"] == [{"consumer": "sangsaeng.loans", "reason": "undecodable", "count": 2}]
    assert parsed["backlog"] == 5
    chart = report_chart({"monthly": [{"month": "2025-01", "visits": 10, "loan_applications": 5, "referrals": 0},
                                      {"month": "2025-02", "visits": 20, "loan_applications": 0, "referrals": 2}]})
    assert chart["top"] == 20 and [t["label"] for t in chart["ticks"]] == ["1월", "2월"]
    tallest = max(chart["bars"], key=lambda b: b["h"])
    assert tallest["value"] == 20 and tallest["y"] == 30 and len(chart["bars"]) == 6
    assert current_half(date(2025, 6, 30)) == "2025H1" and current_half(date(2025, 7, 1)) == "2025H2"


def test_sign_in_returns_only_to_this_site() -> None:
    from console.entrypoints.http import _safe_next

    assert _safe_next("/businesses?dong=제기동") == "/businesses?dong=제기동"
    for outside in ("//evil.example", "/\\evil.example", "https://evil.example", "/login?next=/", "", "javascript:alert(1)"):
        assert _safe_next(outside) == "/", outside


def test_moments_to_the_second_and_every_agency_named_in_korean() -> None:
    from console.domain import labels
    from sangsaeng_common.contracts.common import AgencyCode

    assert korean_datetime("2025-05-11T15:30:09Z", seconds=True) == "2025년 5월 12일 00:30:09"
    assert set(labels.AGENCIES) == {code.value for code in AgencyCode}
    assert labels.label(labels.AGENCIES, "SEMAS") == "소상공인시장진흥공단"
