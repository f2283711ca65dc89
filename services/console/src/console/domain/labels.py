"""Korean labels of the services' enum values (the API's words stay the values sent)."""

from __future__ import annotations

STAGES = {"prospective": "예비창업", "operating": "운영", "closing": "폐업 준비", "closed": "폐업", "restarting": "재도전"}
NEEDS = {
    "consulting": "컨설팅", "education": "교육", "loan": "융자", "insurance": "보험",
    "closure_support": "폐업 지원", "restart_support": "재도전 지원", "guarantee": "보증",
}
CHANNELS = {"walk_in": "방문", "phone": "전화", "online": "온라인", "visit": "현장 방문"}
OUTCOMES = {"met": "상담함", "shop_closed": "가게 닫힘", "owner_absent": "사장님 부재"}
PROGRAMS = {"sme_development_fund": "중소기업육성기금", "bank_cooperation": "시중은행 협력자금"}
PURPOSES = {"operating": "운전자금", "facility": "시설자금"}
LOAN_STATUSES = {
    "draft": "작성 중", "submitted": "접수", "awaiting_guarantee": "보증 대기", "guarantee_overdue": "보증 지연",
    "awaiting_decision": "결정 대기", "approved": "승인", "rejected": "반려", "disbursed": "집행", "withdrawn": "철회",
}
VISIT_STATUSES = {"scheduled": "예정", "recorded": "기록됨", "cancelled": "취소"}
ROLES = {
    "staff": "센터 직원", "planner": "소상공인 플래너", "loan_officer": "융자 담당", "auditor": "감사",
    "operator": "운영자", "agency": "협력 기관",
}
EVENTS = {
    "BusinessRegistered": "사업체 등록", "BusinessStageChanged": "단계 변경", "SupportRequested": "지원 요청",
    "BusinessDetailsChanged": "사업체 정보 변경", "SupportRequestAssigned": "지원 요청 담당 지정",
    "SupportRequestStarted": "지원 요청 처리 시작", "SupportRequestResolved": "지원 요청 완료", "SupportRequestClosed": "지원 요청 종결",
    "LoanDraftCreated": "융자 신청서 초안",
    "ConsentGiven": "제3자 제공 동의", "ConsentWithdrawn": "동의 철회", "BusinessErased": "개인정보 파기",
    "OwnerAdded": "대표자 등록", "VisitScheduled": "방문 예정", "VisitRecorded": "방문 기록", "VisitCancelled": "방문 취소",
    "VisitReassigned": "방문 재배정", "FollowUpDone": "후속 조치 완료",
    "LoanSubmitted": "융자 신청 접수", "LoanScreened": "융자 심사", "GuaranteeRequested": "보증 요청",
    "GuaranteeTimedOut": "보증 회신 지연", "LoanApproved": "융자 승인", "LoanRejected": "융자 반려", "LoanDisbursed": "융자 집행",
    "LoanWithdrawn": "융자 철회", "LoanRepaymentRecorded": "융자 상환", "LoanRepaid": "융자 상환 완료", "LoanInArrears": "융자 연체",
    "PlannerAdded": "플래너 추가", "PlannerChanged": "플래너 변경", "PlannerTerritoryChanged": "플래너 담당 구역 변경",
    "ReferralSent": "기관 연계", "ReferralHeld": "연계 보류", "ReferralAcknowledged": "기관 접수 확인",
    "ReferralCompleted": "연계 결과",
}
DISTRICT_STATES = {"proposed": "지정 신청", "under_review": "심사 중", "designated": "지정", "revoked": "지정 취소"}
REVIEW_REASONS = {"submitted": "상인회 지정 신청", "below_rule": "점포 수 기준 미달", "staff": "센터 재심사"}
ELIGIBILITY = {"designated_only": "지정 상점가만", "any_district": "지정 여부 무관"}
AGENCIES = {
    "SEOUL_CREDIT_GUARANTEE": "서울신용보증재단", "SEMAS": "소상공인시장진흥공단", "KOSME": "중소벤처기업진흥공단",
    "KBIZ": "중소기업중앙회", "EMPLOYMENT_INSURANCE": "근로복지공단", "DDM_CHAMBER": "동대문구상공회", "SB_FEDERATION": "소상공인연합회",
}
SOURCES = {"intake": "접수", "visits": "방문", "loans": "융자", "referrals": "연계", "audit": "감사", "districts": "상점가"}
DONGS = (  # Dongdaemun-gu's administrative dongs since 1 July 2025
    "용두동", "신설동", "제기동", "전농1동", "전농2동", "답십리1동", "답십리2동", "장안1동",
    "장안2동", "청량리동", "회기동", "휘경1동", "휘경2동", "이문1동", "이문2동",
)
INDUSTRIES = ("음식점업", "소매업", "서비스업", "제조업", "도매업", "숙박업", "기타")


def label(table: dict[str, str], value: str | None) -> str:
    """The Korean label, or the value itself when the table does not know it."""
    if value is None:
        return "—"
    return table.get(value, value)


def event_name(event_type: str) -> str:
    """sangsaeng.visits.VisitRecorded.v1 (or VisitRecorded) → VisitRecorded."""
    parts = event_type.split(".")
    return parts[2] if len(parts) >= 4 else parts[-1]
