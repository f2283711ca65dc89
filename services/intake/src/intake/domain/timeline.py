"""The business timeline: one line a counsellor can read for every event, and what is
blanked when the owner's personal data is erased.

Pure functions of an event's type and JSON data, so a timeline rebuilt from the log reads
the same. Events of types this module has no words for still get a line (their name and
producer): the timeline shows other services' events as soon as their contracts exist.
"""

from __future__ import annotations

from typing import Any

from sangsaeng_common.contracts import parse_ce_type

STAGES = {"prospective": "예비창업", "operating": "운영", "closing": "폐업 준비", "closed": "폐업", "restarting": "재창업 준비"}
NEEDS = {
    "consulting": "컨설팅", "education": "교육", "loan": "융자", "insurance": "보험",
    "closure_support": "폐업 지원", "restart_support": "재기 지원", "guarantee": "보증",
}
CHANNELS = {"walk_in": "방문 접수", "phone": "전화", "online": "온라인", "visit": "현장 방문"}
AGENCIES = {
    "SEOUL_CREDIT_GUARANTEE": "서울신용보증재단", "SEMAS": "소상공인시장진흥공단", "KOSME": "중소벤처기업진흥공단",
    "KBIZ": "중소기업중앙회", "EMPLOYMENT_INSURANCE": "근로복지공단", "DDM_CHAMBER": "동대문구상공회",
    "SB_FEDERATION": "소상공인연합회",
}
STAGE_REASONS = {
    "business_opened": "개업", "sales_decline": "매출 감소", "rent_burden": "임대료 부담", "owner_circumstances": "대표자 사정",
    "relocation": "이전", "closure_filed": "폐업 신고", "restart_planned": "재창업 준비", "correction": "정정", "other": "기타 사유",
}
CANCEL_REASONS = {
    "rescheduled": "일정 변경", "owner_request": "대표자 요청", "planner_unavailable": "플래너 사정", "shop_closed": "점포 폐업·휴업",
    "business_erased": "개인정보 삭제", "other": "기타 사유",
}
LEAVE_REASONS = {"closed": "폐업", "moved_out": "구역 밖 이전", "withdrew": "상인회 탈퇴", "other": "기타 사유"}
OUTCOMES = {"met": "면담", "shop_closed": "점포 문 닫힘", "owner_absent": "대표자 부재"}
SUPPORT_OUTCOMES = {
    "advised": "상담 완료", "referred": "협력기관 연계", "loan_drafted": "융자 신청서 작성", "visit_scheduled": "현장 방문 예약",
    "withdrawn_by_owner": "대표자 철회", "unreachable": "연락 두절", "duplicate": "중복 요청", "out_of_scope": "지원 대상 아님",
}
DETAILS = {"name": "상호", "dong": "행정동", "industry": "업종", "employees": "상시근로자", "address": "주소"}

# Free text that may mention people: blanked in the timeline of an erased owner's business.
FREE_TEXT_KEYS = frozenset({"reason", "note", "notes", "comment", "action"})


def _coded(labels: dict[str, str], d: dict[str, Any]) -> Any:
    """The words for an event's `reason_code` (v2, and v1 upcast on the way in); an entry the
    timeline kept before its event's v2 has its `reason` (blanked on erasure) instead."""
    code = d.get("reason_code")
    if code is None:
        return d.get("reason")
    return None if code == "not_given" else labels.get(code, code)


def _words(mapping: dict[str, str], values: Any) -> str:
    return ", ".join(mapping.get(v, str(v)) for v in values or [])


def _details(d: dict[str, Any]) -> str:
    """Each changed detail with its new value (the address by name: its value stays out of events)."""
    parts = []
    for field in d.get("changed") or []:
        value = d.get(field)
        parts.append(f"{DETAILS.get(field, field)} {value}" if value is not None else DETAILS.get(field, field))
    if d.get("is_micro_business") is not None:
        parts.append("소상공인" if d["is_micro_business"] else "소상공인 아님")
    return ", ".join(parts)


def _with_reason(text: str, reason: Any) -> str:
    return f"{text} — {reason}" if reason else text


def summarize(ce_type: str, data: dict[str, Any]) -> str:
    parsed = parse_ce_type(ce_type)
    producer, name = (parsed[0], parsed[1]) if parsed else ("?", ce_type)
    d = data
    match (producer, name):
        case ("intake", "BusinessRegistered"):
            return f"사업체 등록: {d.get('name')} ({d.get('dong')}, {d.get('industry')}, {STAGES.get(d.get('stage'), d.get('stage'))})"
        case ("intake", "BusinessStageChanged"):
            move = f"단계 변경: {STAGES.get(d.get('from_stage'), d.get('from_stage'))} → {STAGES.get(d.get('to_stage'), d.get('to_stage'))}"
            return _with_reason(move, _coded(STAGE_REASONS, d))
        case ("intake", "SupportRequested"):
            return f"지원 요청 ({CHANNELS.get(d.get('channel'), d.get('channel'))}): {_words(NEEDS, d.get('needs'))}"
        case ("intake", "SupportRequestAssigned"):
            if d.get("previous_assignee"):
                return f"지원 요청 담당 변경: {d.get('previous_assignee')} → {d.get('assignee')}"
            return f"지원 요청 담당 지정: {d.get('assignee')}"
        case ("intake", "SupportRequestStarted"):
            return f"지원 요청 처리 시작 ({d.get('assignee')})"
        case ("intake", "SupportRequestResolved"):
            return f"지원 요청 완료: {SUPPORT_OUTCOMES.get(d.get('outcome'), d.get('outcome'))}"
        case ("intake", "SupportRequestClosed"):
            return f"지원 요청 종결: {SUPPORT_OUTCOMES.get(d.get('outcome'), d.get('outcome'))}"
        case ("intake", "BusinessDetailsChanged"):
            return f"사업체 정보 변경: {_details(d)}"
        case ("intake", "ConsentGiven"):
            return f"개인정보 제3자 제공 동의: {_words(AGENCIES, d.get('agencies'))}"
        case ("intake", "ConsentWithdrawn"):
            return f"개인정보 제3자 제공 동의 철회: {_words(AGENCIES, d.get('agencies'))}"
        case ("intake", "BusinessErased"):
            return "대표자 개인정보 삭제 (요청에 따라)"
        case ("visits", "VisitScheduled"):
            return f"방문 예정: {d.get('scheduled_for')} (플래너 {d.get('planner_id')})"
        case ("visits", "VisitRecorded"):
            text = f"방문 기록: {d.get('visited_on')} {OUTCOMES.get(d.get('outcome'), d.get('outcome'))}"
            if d.get("needs_identified"):
                text += f", 필요: {_words(NEEDS, d.get('needs_identified'))}"
            return text
        case ("visits", "VisitCancelled"):
            return _with_reason("방문 취소", _coded(CANCEL_REASONS, d))
        case ("districts", "StoreJoinedDistrict"):
            where = "구역 안" if d.get("inside_boundary") else "구역 밖"
            return f"골목형상점가 회원 점포 가입 ({where}{', 온누리상품권 가맹' if d.get('onnuri_merchant') else ''})"
        case ("districts", "StoreLeftDistrict"):
            return _with_reason("골목형상점가 회원 점포 탈퇴", _coded(LEAVE_REASONS, d))
        case ("districts", "DistrictReviewOpened"):  # on the member whose change caused it
            return f"골목형상점가 재심사: 영업 점포 {d.get('counted_stores')}개 (기준 {d.get('required_stores')}개)"
        case _:
            return f"{name} ({producer})"


def scrub(data: Any) -> Any:
    """`data` with every free-text value blanked (None), at any depth."""
    if isinstance(data, dict):
        return {k: (None if k in FREE_TEXT_KEYS and v is not None else scrub(v)) for k, v in data.items()}
    if isinstance(data, list):
        return [scrub(v) for v in data]
    return data
