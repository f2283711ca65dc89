"""The console's HTML routes. A person signs in at the identity provider (/login, /auth/callback); each page
checks the session and the role, calls the services' APIs with that person's own access token
(adapters/api.py) and renders a Jinja2 template; every POST checks the CSRF token."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.background import BackgroundTask
from starlette.datastructures import FormData

from console.adapters.api import ApiError
from console.domain.navigation import home
from console.domain.paging import pager, parse_trail
from console.domain.registration import registration_problem
from console.service_layer import pages
from console.adapters.oidc import Pkce, SignInFailed
from console.service_layer.sessions import COOKIE, SIGN_IN_COOKIE, SIGN_IN_MAX_AGE_S, Session
from console.wiring import Console
from sangsaeng_common.identity import IdentityUnavailable

log = structlog.get_logger("console.http")


class SignInRequired(Exception):
    def __init__(self, next_path: str):
        self.next_path = next_path


class ForbiddenPage(Exception):
    def __init__(self, message: str = "이 화면을 볼 권한이 없습니다."):
        self.message = message


def routes(app: FastAPI, console: Console) -> None:
    render = console.render
    router = APIRouter()

    def current(request: Request) -> Session | None:
        return console.sessions.session(request.cookies.get(COOKIE))

    def page(*roles: str):
        async def dependency(request: Request) -> Session:
            session = current(request)
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            if session is None:
                raise SignInRequired(here)
            if session.renew_due(time.time()):
                session = await renewed(request, session, here)
            if roles and session.user.role not in roles:
                raise ForbiddenPage()
            if request.method == "POST":
                form = await request.form()
                if not console.sessions.csrf_ok(session, str(form.get("csrf") or "")):
                    raise ForbiddenPage("보안 토큰(CSRF)이 없거나 맞지 않아 요청을 거절했습니다. 화면을 새로 열고 다시 보내 주세요.")
            return session

        return Depends(dependency)

    async def renewed(request: Request, session: Session, here: str) -> Session:
        """The session with a fresh access token from the provider (its refresh token spent for a new one);
        the new cookie goes out with this page's answer (bootstrap's middleware sets it)."""
        if session.refresh_token is None:
            raise SignInRequired(here)
        try:
            grant = await console.identity.renew(session.refresh_token)
        except (SignInFailed, IdentityUnavailable) as exc:
            log.info("session not renewed", subject=session.username, reason=str(exc))
            raise SignInRequired(here) from None
        cookie = console.sessions.start(grant.identity, grant.token, grant.refresh_token, sid=session.sid)
        fresh = console.sessions.session(cookie)
        if fresh is None or fresh.username != session.username:
            raise SignInRequired(here)
        request.state.session_cookie = cookie
        return fresh

    def bearer(session: Session) -> str:
        """The signed-in person's access token: the APIs see them, not the console."""
        return session.token

    # ------------------------------------------------------------------ sign-in (at the identity provider)
    def callback_url(request: Request) -> str:
        base = console.settings.console_public_url or str(request.base_url)
        return base.rstrip("/") + "/auth/callback"

    def sign_in_failed(request: Request, status: int, message: str, next_path: str = "/") -> Response:
        response = render(request, None, "login.html", status=status, next=_safe_next(next_path), error=message)
        response.delete_cookie(SIGN_IN_COOKIE)
        return response

    @router.get("/login", response_class=HTMLResponse)
    async def login(request: Request, next: str = "/") -> Response:
        """Off to the identity provider's sign-in (authorization code + PKCE); it sends the person back to /auth/callback."""
        pkce = Pkce.new()
        try:
            target = await console.identity.authorize_url(callback_url(request), pkce)
        except IdentityUnavailable:
            return sign_in_failed(request, 503, "로그인 서버(ID 제공자)에 연결할 수 없습니다. 잠시 뒤 다시 시도해 주세요.", next)
        response = RedirectResponse(target, status_code=303)
        response.set_cookie(SIGN_IN_COOKIE, console.sessions.sign_in_cookie(pkce, _safe_next(next)), httponly=True, samesite="lax",
                            secure=console.settings.console_cookie_secure, max_age=SIGN_IN_MAX_AGE_S, path="/auth")
        return response

    @router.get("/auth/callback", response_class=HTMLResponse)
    async def callback(request: Request, code: str = "", state: str = "", error: str = "") -> Response:
        begun = console.sessions.sign_in_of(request.cookies.get(SIGN_IN_COOKIE), state)
        if begun is None:  # not the answer to a sign-in this browser began: a forged or replayed redirect
            return sign_in_failed(request, 400, "로그인 요청이 맞지 않습니다. 다시 로그인해 주세요.")
        pkce, next_path = begun
        if error or not code:
            return sign_in_failed(request, 401, "로그인하지 못했습니다.", next_path)
        try:
            grant = await console.identity.redeem(code, pkce, callback_url(request))
        except IdentityUnavailable:
            return sign_in_failed(request, 503, "로그인 서버(ID 제공자)에 연결할 수 없습니다. 잠시 뒤 다시 시도해 주세요.", next_path)
        except SignInFailed as exc:
            log.warning("sign-in refused", reason=str(exc))
            return sign_in_failed(request, 401, "로그인하지 못했습니다.", next_path)
        identity = grant.identity
        cookie = console.sessions.start(identity, grant.token, grant.refresh_token)
        if cookie is None:
            return sign_in_failed(request, 403, "이 계정에는 콘솔을 쓸 역할이 없습니다.", next_path)
        session = console.sessions.session(cookie)
        log.info("signed in", subject=identity.subject, role=session.user.role)
        response = RedirectResponse(next_path if next_path != "/" else home(session.user.role), status_code=303)
        console.set_session_cookie(response, cookie)
        response.delete_cookie(SIGN_IN_COOKIE, path="/auth")
        return response

    @router.post("/logout")
    async def logout(session: Session = page()) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @router.get("/")
    async def root(session: Session = page()) -> Response:
        return RedirectResponse(home(session.user.role), status_code=303)

    # ------------------------------------------------------------------ businesses (staff, planner)
    @router.get("/businesses", response_class=HTMLResponse)
    async def businesses(request: Request, q: str = "", dong: str = "", stage: str = "", registration_number: str = "",
                         cursor: str = "", trail: str = "", session: Session = page("staff", "planner", "loan_officer", "auditor")) -> Response:
        filters = {"q": q, "dong": dong, "stage": stage, "registration_number": registration_number}
        result = await console.api.call(bearer(session), "intake", "GET", "/businesses",
                                        params={**filters, "cursor": cursor or None, "limit": 20})
        paging = pager("/businesses", filters, parse_trail(trail), cursor or None, result.get("next"))
        return render(request, session, "businesses.html", items=result["items"], filters=filters, pager=paging)

    @router.get("/businesses/new", response_class=HTMLResponse)
    async def new_business(request: Request, session: Session = page("staff")) -> Response:
        return render(request, session, "business_new.html", values={"employees": "1", "stage": "operating"}, errors={})

    @router.post("/businesses", response_class=HTMLResponse)
    async def register(request: Request, session: Session = page("staff")) -> Response:
        form = await request.form()
        values = {k: str(form.get(k) or "").strip() for k in ("registration_number", "name", "dong", "industry", "employees", "stage", "registered_on")}
        errors: dict[str, str] = {}
        if problem := registration_problem(values["registration_number"]):
            errors["registration_number"] = problem
        body: dict[str, Any] = {**values, "employees": _int(values["employees"])}
        if not errors:
            try:
                created = await console.api.call(bearer(session), "intake", "POST", "/businesses", json=body,
                                                 idempotency_key=str(form.get("idempotency_key") or uuid.uuid4()))
                return RedirectResponse(f"/businesses/{created['id']}?registered=1", status_code=303)
            except ApiError as error:
                if error.status not in (409, 422):
                    raise
                errors = error.fields or {"": error.detail or error.title}
                if error.status == 409:
                    errors = {"registration_number": "이미 등록된 사업자등록번호입니다"}
        return render(request, session, "business_new.html", status=422, values=values, errors=errors)

    @router.get("/businesses/{business_id}", response_class=HTMLResponse)
    async def business(request: Request, business_id: uuid.UUID, session: Session = page("staff", "planner", "loan_officer", "auditor")) -> Response:
        card = await pages.business_card(console.api, bearer(session), session.user.role, business_id)
        return render(request, session, "business.html", **card, registered=request.query_params.get("registered"),
                      notice=request.query_params.get("notice"))

    @router.get("/businesses/{business_id}/timeline", response_class=HTMLResponse)
    async def timeline_fragment(request: Request, business_id: uuid.UUID, session: Session = page("staff", "planner", "loan_officer", "auditor")) -> Response:
        timeline = await console.api.call(bearer(session), "intake", "GET", f"/businesses/{business_id}/timeline", params={"limit": 50})
        return render(request, session, "_timeline.html", timeline=timeline["items"])

    @router.get("/businesses/{business_id}/live")
    async def live(request: Request, business_id: uuid.UUID, session: Session = page("staff", "planner", "loan_officer", "auditor")) -> Response:
        """Server-sent events: after each event about this business, once intake's timeline holds it, the new
        timeline (HTML) as an `event: timeline`."""
        token = bearer(session)
        subject = str(business_id)
        queue = console.live.subscribe(subject)
        template = console.templates.get_template("_timeline.html")

        async def stream():
            try:
                yield "retry: 2000\n: connected\n\n"
                while True:
                    try:
                        event = await asyncio.wait_for(queue.get(), timeout=15)
                    except TimeoutError:
                        if await request.is_disconnected():
                            return
                        yield ": keep-alive\n\n"
                        continue
                    items = await _timeline_holding(console, token, business_id, event.get("id", ""))
                    html = template.render(timeline=items, **console.helpers)
                    yield "event: timeline\n" + "".join(f"data: {line}\n" for line in html.splitlines() or [""]) + "\n"
            finally:
                console.live.unsubscribe(subject, queue)

        return StreamingResponse(stream(), media_type="text/event-stream", headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    @router.post("/businesses/{business_id}/support-requests")
    async def support_request(request: Request, business_id: uuid.UUID, session: Session = page("staff", "planner")) -> Response:
        form = await request.form()
        body = {"business_id": str(business_id), "needs": form.getlist("needs"), "channel": form.get("channel") or "walk_in",
                "note": str(form.get("note") or "") or None}
        await console.api.call(bearer(session), "intake", "POST", "/support-requests", json=body,
                               idempotency_key=str(form.get("idempotency_key") or uuid.uuid4()))
        return RedirectResponse(f"/businesses/{business_id}?notice=" + quote("지원 요청을 기록했습니다"), status_code=303)

    @router.post("/businesses/{business_id}/consents")
    async def consent(request: Request, business_id: uuid.UUID, session: Session = page("staff")) -> Response:
        form = await request.form()
        body = {"agencies": form.getlist("agencies"), "signed_by": str(form.get("signed_by") or "") or None,
                "note": str(form.get("note") or "") or None}
        await console.api.call(bearer(session), "intake", "POST", f"/businesses/{business_id}/consents", json=body,
                               idempotency_key=str(form.get("idempotency_key") or uuid.uuid4()))
        return RedirectResponse(f"/businesses/{business_id}?notice=" + quote("제3자 제공 동의를 기록했습니다"), status_code=303)

    @router.get("/businesses/{business_id}/consents/{consent_id}/withdraw", response_class=HTMLResponse)
    async def withdrawal_confirm(request: Request, business_id: uuid.UUID, consent_id: uuid.UUID, session: Session = page("staff")) -> Response:
        context = await pages.consent(console.api, bearer(session), business_id, consent_id)
        return render(request, session, "consent_withdraw.html", **context, idempotency_key=str(uuid.uuid4()))

    @router.post("/businesses/{business_id}/consents/{consent_id}/withdraw")
    async def withdraw(request: Request, business_id: uuid.UUID, consent_id: uuid.UUID, session: Session = page("staff")) -> Response:
        form = await request.form()
        if form.get("confirm") != "withdraw":  # the confirmation step was skipped: show it again
            return RedirectResponse(f"/businesses/{business_id}/consents/{consent_id}/withdraw", status_code=303)
        body = {"note": str(form.get("note") or "").strip() or None}
        try:
            await console.api.call(bearer(session), "intake", "POST", f"/businesses/{business_id}/consents/{consent_id}/withdraw",
                                   json=body, idempotency_key=str(form.get("idempotency_key") or uuid.uuid4()))
        except ApiError as error:
            if error.status != 409:
                raise
            return RedirectResponse(f"/businesses/{business_id}?notice=" + quote("이미 철회된 동의입니다"), status_code=303)
        return RedirectResponse(f"/businesses/{business_id}?notice=" + quote("동의 철회를 기록했습니다"), status_code=303)

    @router.get("/businesses/{business_id}/erasure", response_class=HTMLResponse)
    async def erasure_confirm(request: Request, business_id: uuid.UUID, session: Session = page("staff")) -> Response:
        found = await console.api.call(bearer(session), "intake", "GET", f"/businesses/{business_id}")
        return render(request, session, "erasure.html", business=found)

    @router.post("/businesses/{business_id}/erasure")
    async def erasure(request: Request, business_id: uuid.UUID, session: Session = page("staff")) -> Response:
        form = await request.form()
        if form.get("confirm") != "erase":
            return RedirectResponse(f"/businesses/{business_id}/erasure", status_code=303)
        await console.api.call(bearer(session), "intake", "POST", f"/businesses/{business_id}/erasure", json={},
                               idempotency_key=str(form.get("idempotency_key") or uuid.uuid4()))
        return RedirectResponse(f"/businesses/{business_id}?notice=" + quote("개인정보를 파기했습니다"), status_code=303)

    @router.get("/support-requests", response_class=HTMLResponse)
    async def support_requests(request: Request, cursor: str = "", trail: str = "", session: Session = page("staff")) -> Response:
        result = await console.api.call(bearer(session), "intake", "GET", "/support-requests", params={"cursor": cursor or None, "limit": 20})
        paging = pager("/support-requests", {}, parse_trail(trail), cursor or None, result.get("next"))
        return render(request, session, "support_requests.html", items=result["items"], pager=paging)

    # ------------------------------------------------------------------ loan application (staff)
    @router.get("/businesses/{business_id}/loan", response_class=HTMLResponse)
    async def loan_form(request: Request, business_id: uuid.UUID, session: Session = page("staff")) -> Response:
        found = await console.api.call(bearer(session), "intake", "GET", f"/businesses/{business_id}")
        return render(request, session, "loan_new.html", business=found, values={"program": "sme_development_fund", "purpose": "operating"},
                      errors={}, idempotency_key=str(uuid.uuid4()))

    @router.post("/businesses/{business_id}/loan", response_class=HTMLResponse)
    async def loan_submit(request: Request, business_id: uuid.UUID, session: Session = page("staff")) -> Response:
        form = await request.form()
        values = {k: str(form.get(k) or "").strip() for k in ("program", "amount_krw", "purpose", "term_months")}
        body: dict[str, Any] = {"business_id": str(business_id), "program": values["program"], "purpose": values["purpose"],
                                "amount_krw": _int(values["amount_krw"].replace(",", "")), "documents": form.getlist("documents")}
        if values["term_months"]:
            body["term_months"] = _int(values["term_months"])
        key = str(form.get("idempotency_key") or uuid.uuid4())
        try:
            # read-your-writes: a business registered a moment ago may not have reached loans yet
            await console.api.call_until_known(bearer(session), "loans", "POST", "/applications", json=body, idempotency_key=key,
                                               unknown_field="business_id", wait_s=console.settings.console_read_your_writes_s)
        except ApiError as error:
            if error.status != 422:
                raise
            found = await console.api.call(bearer(session), "intake", "GET", f"/businesses/{business_id}")
            return render(request, session, "loan_new.html", status=422, business=found, values=values,
                          errors=error.fields or {"": error.detail}, idempotency_key=key)
        return RedirectResponse(f"/businesses/{business_id}?notice=" + quote("융자 신청을 접수했습니다"), status_code=303)

    # ------------------------------------------------------------------ planner
    @router.get("/planner/route", response_class=HTMLResponse)
    async def route(request: Request, day: str = "", session: Session = page("planner")) -> Response:
        planner_id = session.user.planner_id or ""
        chosen = _date(day) or console.today()
        found = await console.api.call(bearer(session), "visits", "GET", f"/planners/{planner_id}/route", params={"date": chosen.isoformat()})
        follow_ups = await console.api.call(bearer(session), "visits", "GET", f"/planners/{planner_id}/follow-ups")
        return render(request, session, "route.html", route=found, follow_ups=follow_ups, day=chosen)

    @router.get("/visits/{visit_id}/record", response_class=HTMLResponse)
    async def record_form(request: Request, visit_id: uuid.UUID, session: Session = page("planner")) -> Response:
        visit = await console.api.call(bearer(session), "visits", "GET", f"/visits/{visit_id}")
        values = {"visited_on": console.today().isoformat(), "outcome": "met", "stage_observed": ""}
        return render(request, session, "record.html", visit=visit, values=values, errors={}, idempotency_key=str(uuid.uuid4()))

    @router.post("/visits/{visit_id}/record", response_class=HTMLResponse)
    async def record(request: Request, visit_id: uuid.UUID, session: Session = page("planner")) -> Response:
        form = await request.form()
        body, values = pages.visit_record_body(form, session.user.planner_id or "")
        key = str(form.get("idempotency_key") or uuid.uuid4())
        try:
            visit = await console.api.call(bearer(session), "visits", "POST", f"/visits/{visit_id}/record", json=body, idempotency_key=key)
        except ApiError as error:
            if error.status not in (409, 422):
                raise
            visit = await console.api.call(bearer(session), "visits", "GET", f"/visits/{visit_id}")
            return render(request, session, "record.html", status=422, visit=visit, values=values,
                          errors=error.fields or {"": error.detail or error.title}, idempotency_key=key)
        return RedirectResponse(f"/businesses/{visit['business_id']}?notice=" + quote("방문 기록을 저장했습니다"), status_code=303)

    # ------------------------------------------------------------------ loan officer
    @router.get("/loans/queue", response_class=HTMLResponse)
    async def queue(request: Request, program: str = "", round: str = "", status: str = "awaiting_decision",
                    session: Session = page("loan_officer")) -> Response:
        context = await pages.loan_queue(console.api, bearer(session), program=program, round_id=round, status=status)
        return render(request, session, "loan_queue.html", **context)

    @router.get("/loans/overdue", response_class=HTMLResponse)
    async def overdue(request: Request, session: Session = page("loan_officer")) -> Response:
        context = await pages.loan_queue(console.api, bearer(session), program="", round_id="", status="guarantee_overdue")
        return render(request, session, "loan_queue.html", **context, overdue_page=True)

    @router.get("/loans/rounds", response_class=HTMLResponse)
    async def rounds(request: Request, session: Session = page("loan_officer")) -> Response:
        found = await console.api.call(bearer(session), "loans", "GET", "/rounds")
        return render(request, session, "rounds.html", rounds=found)

    # ------------------------------------------------------------------ districts (staff, planner, auditor)
    @router.get("/districts", response_class=HTMLResponse)
    async def districts(request: Request, state: str = "", dong: str = "",
                        session: Session = page("staff", "planner", "auditor")) -> Response:
        found = await console.api.call(bearer(session), "districts", "GET", "/districts",
                                       params={"state": state or None, "dong": dong or None})
        return render(request, session, "districts.html", items=found, filters={"state": state, "dong": dong})

    @router.get("/districts/{district_id}", response_class=HTMLResponse)
    async def district(request: Request, district_id: uuid.UUID, session: Session = page("staff", "planner", "auditor")) -> Response:
        context = await pages.district_page(console.api, bearer(session), district_id)
        return render(request, session, "district.html", **context)

    @router.get("/loans/applications/{application_id}", response_class=HTMLResponse)
    async def application(request: Request, application_id: uuid.UUID, session: Session = page("loan_officer")) -> Response:
        context = await pages.application(console.api, bearer(session), application_id)
        return render(request, session, "application.html", **context, errors={}, notice=request.query_params.get("notice"),
                      idempotency_key=str(uuid.uuid4()))

    @router.post("/loans/applications/{application_id}/decision", response_class=HTMLResponse)
    async def decide(request: Request, application_id: uuid.UUID, session: Session = page("loan_officer")) -> Response:
        form = await request.form()
        decision = str(form.get("decision") or "")
        body: dict[str, Any] = {"decision": decision}
        if decision == "approve" and str(form.get("amount_krw") or "").strip():
            body["amount_krw"] = _int(str(form.get("amount_krw")).replace(",", ""))
        reasons = [r.strip() for r in str(form.get("reasons") or "").splitlines() if r.strip()]
        if reasons:
            body["reasons"] = reasons
        return await _officer_command(request, session, application_id, "decision", body, form,
                                      "승인했습니다" if decision == "approve" else "반려했습니다")

    @router.post("/loans/applications/{application_id}/disbursement", response_class=HTMLResponse)
    async def disburse(request: Request, application_id: uuid.UUID, session: Session = page("loan_officer")) -> Response:
        form = await request.form()
        body: dict[str, Any] = {}
        if str(form.get("disbursed_on") or ""):
            body["disbursed_on"] = str(form.get("disbursed_on"))
        return await _officer_command(request, session, application_id, "disbursement", body, form, "집행했습니다")

    async def _officer_command(request: Request, session: Session, application_id: uuid.UUID, action: str, body: dict, form: FormData,
                               done: str) -> Response:
        key = str(form.get("idempotency_key") or uuid.uuid4())
        try:
            await console.api.call(bearer(session), "loans", "POST", f"/applications/{application_id}/{action}", json=body, idempotency_key=key)
        except ApiError as error:
            if error.status not in (409, 422):
                raise
            context = await pages.application(console.api, bearer(session), application_id)
            return render(request, session, "application.html", status=422, **context, errors=error.fields or {"": error.detail or error.title},
                          notice=None, idempotency_key=str(uuid.uuid4()))
        return RedirectResponse(f"/loans/applications/{application_id}?notice=" + quote(done), status_code=303)

    # ------------------------------------------------------------------ auditor
    @router.get("/audit/verify", response_class=HTMLResponse)
    async def verify(request: Request, session: Session = page("auditor")) -> Response:
        result = await console.api.call(bearer(session), "audit", "GET", "/verify")
        return render(request, session, "verify.html", result=result)

    @router.get("/audit/report", response_class=HTMLResponse)
    async def report(request: Request, period: str = "", session: Session = page("auditor")) -> Response:
        period = period or pages.current_half(console.today())
        found = await console.api.call(bearer(session), "audit", "GET", f"/reports/{quote(period)}")
        last_day = date.fromisoformat(found["until"][:10]) - timedelta(days=1)  # `until` is the day after the period
        return render(request, session, "report.html", report=found, period=period, chart=pages.report_chart(found), last_day=last_day)

    @router.get("/audit/export")
    async def export(period: str = "", session: Session = page("auditor")) -> Response:
        """The ledger's events of a period as a JSON Lines file, streamed through from audit (never held whole)."""
        response = await console.api.open_stream(bearer(session), "audit", "GET", "/events", params={"period": period or None})
        name = f"sangsaeng-ledger-{period or 'all'}.jsonl"
        return StreamingResponse(response.aiter_bytes(), media_type="application/x-ndjson", background=BackgroundTask(response.aclose),
                                 headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store",
                                          "Event-Count": response.headers.get("Event-Count", "")})

    @router.get("/audit/application", response_class=HTMLResponse)
    async def application_at(request: Request, id: str = "", at: str = "", session: Session = page("auditor")) -> Response:
        found = None
        error = None
        if id:
            try:
                params = {"at": _moment(at).isoformat()} if at else None
                found = await console.api.call(bearer(session), "audit", "GET", f"/applications/{uuid.UUID(id)}", params=params)
            except ValueError:
                error = "신청 번호(UUID) 또는 시각의 형식이 맞지 않습니다"
            except ApiError as api_error:
                if api_error.status not in (404, 422):
                    raise
                error = api_error.detail or api_error.title
        return render(request, session, "application_at.html", found=found, id=id, at=at, error=error)

    # ------------------------------------------------------------------ operator
    @router.get("/ops", response_class=HTMLResponse)
    async def ops(request: Request, session: Session = page("operator")) -> Response:
        status = await pages.system_status(console.api)
        return render(request, session, "ops.html", **status)

    # ------------------------------------------------------------------ agency
    @router.get("/agency/referrals", response_class=HTMLResponse)
    async def agency_referrals(request: Request, session: Session = page("agency")) -> Response:
        found = await console.api.call(bearer(session), "referrals", "GET", "/referrals", params={"limit": 100})
        return render(request, session, "agency_referrals.html", referrals=found)

    app.include_router(router)

    # ------------------------------------------------------------------ errors as Korean pages
    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, exc: SignInRequired) -> Response:
        if request.headers.get("accept", "").startswith("text/event-stream"):
            return Response(status_code=401)
        return RedirectResponse("/login?next=" + quote(exc.next_path, safe=""), status_code=303)

    @app.exception_handler(ForbiddenPage)
    async def _forbidden(request: Request, exc: ForbiddenPage) -> Response:
        return render(request, current(request), "error.html", status=403, title="권한 없음", message=exc.message)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        if exc.status == 403:
            title, message, status = "권한 없음", "이 역할로는 볼 수 없는 정보입니다.", 403
        elif exc.status == 404:
            title, message, status = "찾을 수 없음", "요청한 정보가 없습니다.", 404
        elif exc.status in (0, 502, 503, 504):
            title, message, status = "잠시 후 다시 시도해 주세요", f"{exc.service} 서비스가 응답하지 않습니다.", 503
        else:
            title, message, status = "요청을 처리하지 못했습니다", exc.detail or exc.title, 502 if exc.status >= 500 else exc.status
        return render(request, current(request), "error.html", status=status, title=title, message=message)


    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.error("console page failed", path=request.url.path, error=repr(exc), exc_info=exc)
        return render(request, current(request), "error.html", status=500, title="오류가 났습니다",
                      message="화면을 만들지 못했습니다. 잠시 후 다시 시도해 주세요. 계속되면 운영자에게 알려 주세요.")


async def _timeline_holding(console: Console, token: str, business_id: uuid.UUID, event_id: str) -> list[dict]:
    """The timeline once intake's projection holds `event_id` (it may lag the topic by a moment; at most ~5 s)."""
    deadline = time.monotonic() + 5
    while True:
        timeline = await console.api.call(token, "intake", "GET", f"/businesses/{business_id}/timeline", params={"limit": 50})
        items = timeline["items"]
        if not event_id or any(str(i.get("event_id")) == event_id for i in items) or time.monotonic() > deadline:
            return items
        await asyncio.sleep(0.2)


def _safe_next(value: str) -> str:
    """Only a path of this site (no //host, no /\\host, not the sign-in page itself)."""
    ok = value.startswith("/") and not value.startswith(("//", "/\\", "/login")) and "\\" not in value
    return value if ok else "/"


def _int(value: str) -> int | str:
    try:
        return int(value)
    except (TypeError, ValueError):
        return value  # the API names the field


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _moment(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=pages.SEOUL)
