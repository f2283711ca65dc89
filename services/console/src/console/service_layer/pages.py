"""What the richer pages show, gathered from several APIs at once (concurrently), and shaped for the templates."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from prometheus_client.parser import text_string_to_metric_families
from starlette.datastructures import FormData

from console.adapters.api import ApiError, Services

SEOUL = ZoneInfo("Asia/Seoul")
SERVICES = ("intake", "visits", "loans", "referrals", "audit", "districts")
READY_PARTS = {"database": "데이터베이스", "broker": "브로커", "consumers": "소비자"}


async def _maybe(call) -> Any:
    """A part of a page that this role may not see, or that a service does not know yet, stays empty."""
    try:
        return await call
    except ApiError as error:
        if error.status in (403, 404):
            return None
        raise


async def business_card(api: Services, token: str, user_role: str, business_id: UUID) -> dict[str, Any]:
    business = await api.call(token, "intake", "GET", f"/businesses/{business_id}")
    wants_visits = user_role in ("staff", "planner", "auditor")
    wants_loans = user_role in ("staff", "loan_officer", "auditor")
    wants_consents = user_role == "staff"
    timeline, directory, visits, loans, support, consents = await asyncio.gather(
        api.call(token, "intake", "GET", f"/businesses/{business_id}/timeline", params={"limit": 50}),
        _maybe(api.call(token, "visits", "GET", f"/businesses/{business_id}")) if wants_visits else _none(),
        _maybe(api.call(token, "visits", "GET", "/visits", params={"business_id": str(business_id)})) if wants_visits else _none(),
        _maybe(api.call(token, "loans", "GET", "/applications", params={"business_id": str(business_id)})) if wants_loans else _none(),
        _maybe(api.call(token, "intake", "GET", "/support-requests", params={"business_id": str(business_id), "limit": 10})),
        _maybe(api.call(token, "intake", "GET", f"/businesses/{business_id}/consents")) if wants_consents else _none(),
    )
    visits = visits or []
    open_follow_ups = [
        {**f, "visit_id": v["id"]} for v in visits for f in v.get("follow_ups") or [] if not f.get("done_on")
    ]
    return {
        "business": business,
        "timeline": timeline["items"],
        "stage_history": (directory or {}).get("stage_history") or [],
        "visits": sorted(visits, key=lambda v: v.get("visited_on") or v["scheduled_for"], reverse=True),
        "open_follow_ups": sorted(open_follow_ups, key=lambda f: f["due_on"]),
        "applications": loans or [],
        "support_requests": (support or {}).get("items") or [],
        "consents": (consents or {}).get("items") or [],
    }


async def consent(api: Services, token: str, business_id: UUID, consent_id: UUID) -> dict[str, Any]:
    """One consent of a business (intake lists them; it has no single-consent read). ApiError 404 if not there."""
    business, consents = await asyncio.gather(
        api.call(token, "intake", "GET", f"/businesses/{business_id}"),
        api.call(token, "intake", "GET", f"/businesses/{business_id}/consents"),
    )
    found = next((c for c in consents["items"] if c["id"] == str(consent_id)), None)
    if found is None:
        raise ApiError("intake", 404, "No such consent")
    return {"business": business, "consent": found}


async def _none() -> None:
    return None


def visit_record_body(form: FormData, planner_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The visit-recording form → the body of POST /visits/{id}/record (and the values to show again)."""
    actions = [str(a).strip() for a in form.getlist("follow_up_action")]
    dues = [str(d).strip() for d in form.getlist("follow_up_due")]
    follow_ups = [{"action": a, "due_on": d or None} for a, d in zip(actions, dues, strict=False) if a or d]
    services = [s.strip() for s in str(form.get("services_given") or "").splitlines() if s.strip()]
    body: dict[str, Any] = {
        "planner_id": planner_id,
        "visited_on": str(form.get("visited_on") or "") or None,
        "outcome": str(form.get("outcome") or "") or None,
        "needs_identified": form.getlist("needs_identified"),
        "services_given": services,
        "follow_ups": follow_ups,
    }
    if form.get("stage_observed"):
        body["stage_observed"] = str(form.get("stage_observed"))
    if str(form.get("notes") or "").strip():
        body["notes"] = str(form.get("notes"))
    values = {**body, "services_given": "\n".join(services), "notes": str(form.get("notes") or ""),
              "stage_observed": str(form.get("stage_observed") or "")}
    return body, values


async def loan_queue(api: Services, token: str, *, program: str, round_id: str, status: str) -> dict[str, Any]:
    applications, rounds, programs = await asyncio.gather(
        api.call(token, "loans", "GET", "/applications", params={"status": status or None, "program": program or None, "limit": 500}),
        api.call(token, "loans", "GET", "/rounds"),
        api.call(token, "loans", "GET", "/programs"),
    )
    if round_id:
        applications = [a for a in applications if a.get("round_id") == round_id]
    groups: dict[tuple[str, str], list[dict]] = {}
    for application in applications:
        groups.setdefault((application.get("program") or "", application.get("round_id") or ""), []).append(application)
    round_names = {r["id"]: r["name"] for r in rounds}
    return {
        "groups": [{"program": p, "round": round_names.get(r, r), "applications": items} for (p, r), items in sorted(groups.items())],
        "count": len(applications), "rounds": rounds, "programs": programs, "program": program, "round_id": round_id, "status_filter": status,
    }


async def application(api: Services, token: str, application_id: UUID) -> dict[str, Any]:
    found, programs = await asyncio.gather(
        api.call(token, "loans", "GET", f"/applications/{application_id}"), api.call(token, "loans", "GET", "/programs")
    )
    program = next((p for p in programs if p["code"] == found.get("program")), None)
    return {"application": found, "program": program}


async def district_page(api: Services, token: str, district_id: UUID) -> dict[str, Any]:
    """A district with its member stores and the contests it entered (each contest's entries filtered to this district)."""
    district, stores, contests = await asyncio.gather(
        api.call(token, "districts", "GET", f"/districts/{district_id}"),
        api.call(token, "districts", "GET", f"/districts/{district_id}/stores"),
        api.call(token, "districts", "GET", "/contests"),
    )
    entries = await asyncio.gather(*(api.call(token, "districts", "GET", f"/contests/{c['id']}/entries") for c in contests))
    entered = [{**entry, "contest": contest} for contest, found in zip(contests, entries, strict=True)
               for entry in found if entry["district_id"] == str(district_id)]
    return {
        "district": district,
        "stores": sorted(stores, key=lambda s: (s.get("left_on") is not None, not s.get("counts"), s.get("business_name") or "")),
        "entries": sorted(entered, key=lambda e: e["entered_on"], reverse=True),
    }


def current_half(today: date) -> str:
    return f"{today.year}H{1 if today.month <= 6 else 2}"


def report_chart(report: dict[str, Any]) -> dict[str, Any]:
    """The monthly bars of the half-year report, as geometry for an inline SVG (visits, loan applications, referrals)."""
    months = report.get("monthly") or []
    series = (("visits", "방문"), ("loan_applications", "융자 신청"), ("referrals", "기관 연계"))
    top = max([m.get(key, 0) for m in months for key, _ in series] or [0]) or 1
    width, height, pad = 640, 240, 30
    slot = (width - pad) / max(len(months), 1)
    bar = slot / (len(series) + 1)
    bars = []
    for i, month in enumerate(months):
        for j, (key, _) in enumerate(series):
            value = month.get(key, 0)
            h = (height - 2 * pad) * value / top
            bars.append({"x": round(pad + i * slot + j * bar + bar / 2, 1), "y": round(height - pad - h, 1), "w": round(bar, 1),
                         "h": round(h, 1), "series": j, "value": value, "label": f"{month['month']} {key}: {value}"})
    ticks = [{"x": round(pad + i * slot + slot / 2, 1), "label": f"{int(m['month'][5:])}월"} for i, m in enumerate(months)]
    return {"width": width, "height": height, "bars": bars, "ticks": ticks, "top": top, "series": [s for _, s in series], "base": height - pad}


async def system_status(api: Services) -> dict[str, Any]:
    """Each service's /ready and what its /metrics says about consumer lag, dead letters and the outbox relay."""

    async def one(service: str) -> dict[str, Any]:
        status: dict[str, Any] = {"service": service, "ready": False, "detail": "", "lag": [], "dead_letters": [], "backlog": None}
        try:
            ready, metrics = await asyncio.gather(api.get_raw(service, "/ready"), api.get_raw(service, "/metrics"))
            status["ready"] = ready.status_code == 200
            status["detail"] = ", ".join(f"{READY_PARTS.get(k, k)} {'정상' if v is True else '이상' if v is False else v}"
                                         for k, v in ready.json().items() if k != "status")
        except Exception as exc:  # noqa: BLE001 - an unreachable service is what this page is for
            status["detail"] = f"응답 없음 ({type(exc).__name__})"
            return status
        status.update(parse_metrics(metrics.text))
        return status

    services = await asyncio.gather(*(one(s) for s in SERVICES))
    healthy = all(s["ready"] for s in services)
    return {"services": services, "healthy": healthy,
            "total_lag": sum(row["lag"] for s in services for row in s["lag"]),
            "total_dead_letters": sum(row["count"] for s in services for row in s["dead_letters"])}


OPS_METRICS = ("consumer_lag", "dead_letters_total", "outbox_backlog")


def _ops_lines(text: str) -> str:
    """Only the families this page shows: a busy service's /metrics is mostly HTTP histograms, and parsing all
    of it (pure Python) was most of the page's time."""
    kept = []
    for line in text.splitlines():
        name = line.split()[2] if line.startswith("# ") and len(line.split()) > 2 else line
        if name.startswith(OPS_METRICS):
            kept.append(line)
    return "\n".join(kept) + "\n"


def parse_metrics(text: str) -> dict[str, Any]:
    lag: dict[tuple[str, str], float] = {}
    dead: list[dict[str, Any]] = []
    backlog = None
    for family in text_string_to_metric_families(_ops_lines(text)):
        for sample in family.samples:
            if sample.name == "consumer_lag":
                key = (sample.labels.get("consumer", ""), sample.labels.get("topic", ""))
                lag[key] = lag.get(key, 0) + sample.value
            elif sample.name == "dead_letters_total":
                dead.append({"consumer": sample.labels.get("consumer", ""), "reason": sample.labels.get("reason", ""), "count": int(sample.value)})
            elif sample.name == "outbox_backlog":
                backlog = (backlog or 0) + int(sample.value)
    return {"lag": [{"consumer": c, "topic": t, "lag": int(v)} for (c, t), v in sorted(lag.items())],
            "dead_letters": dead, "backlog": backlog}
