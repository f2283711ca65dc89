"""Partner agencies and the programs the center refers to, kept as data.

`consent_rule` says what happens to a referral while the owner's consent to third-party
sharing (개인정보 제3자 제공 동의) does not cover the agency: `hold` it until consent arrives
(the agency cannot act without the owner's contact), or `send_without` personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sangsaeng_common.contracts.common import AgencyCode


class ConsentRule(StrEnum):
    hold = "hold"
    send_without = "send_without"


@dataclass(frozen=True)
class Program:
    code: str
    name: str  # Korean name as the center uses it
    description: str


@dataclass(frozen=True)
class Agency:
    code: AgencyCode
    name: str
    name_en: str
    consent_rule: ConsentRule
    programs: tuple[Program, ...]

    def program(self, code: str) -> Program | None:
        return next((p for p in self.programs if p.code == code), None)


# Program codes used by the rules.
LOAN_GUARANTEE = "loan_guarantee"
HOPE_RETURN_PACKAGE = "hope_return_package"
RESTART_SUPPORT = "restart_support"
SEMAS_EDUCATION = "education"
YELLOW_UMBRELLA = "yellow_umbrella"
SELF_EMPLOYED_INSURANCE = "self_employed_insurance"

AGENCIES: dict[AgencyCode, Agency] = {
    a.code: a
    for a in (
        Agency(
            AgencyCode.SEOUL_CREDIT_GUARANTEE, "서울신용보증재단", "Seoul Credit Guarantee Foundation", ConsentRule.hold,
            (Program(LOAN_GUARANTEE, "보증서", "loan guarantee certificate for a bank-cooperation loan"),),
        ),
        Agency(
            AgencyCode.SEMAS, "소상공인시장진흥공단", "Small Enterprise and Market Service (SEMAS)", ConsentRule.hold,
            (
                Program(HOPE_RETURN_PACKAGE, "희망리턴패키지 (폐업지원)",
                        "closure consulting, store demolition subsidy, retraining allowance"),
                Program(RESTART_SUPPORT, "희망리턴패키지 (재기·재창업 지원)", "restart consulting and restart funding"),
                Program("policy_loans", "소상공인 정책자금", "policy loans, direct or through a bank"),
                Program(SEMAS_EDUCATION, "소상공인 교육 (지식배움터)", "free courses"),
            ),
        ),
        Agency(
            AgencyCode.KOSME, "중소벤처기업진흥공단", "Korea SMEs and Startups Agency (KOSME)", ConsentRule.hold,
            (Program("policy_funds", "중소기업 정책자금·컨설팅", "SME policy funds and consulting"),),
        ),
        Agency(
            AgencyCode.KBIZ, "중소기업중앙회", "Korea Federation of SMEs (KBIZ)", ConsentRule.hold,
            (Program(YELLOW_UMBRELLA, "노란우산공제", "the owner's severance mutual aid, with income deduction"),),
        ),
        Agency(
            AgencyCode.EMPLOYMENT_INSURANCE, "근로복지공단", "Korea Workers' Compensation & Welfare Service", ConsentRule.hold,
            (Program(SELF_EMPLOYED_INSURANCE, "1인 자영업자 고용보험료 지원",
                     "50-80% of the self-employed's employment insurance premium for up to 5 years"),),
        ),
        Agency(
            AgencyCode.DDM_CHAMBER, "동대문구상공회", "Dongdaemun-gu Chamber of Commerce", ConsentRule.send_without,
            (Program("networking", "네트워킹·지역 프로그램", "networking and local programs"),),
        ),
        Agency(
            AgencyCode.SB_FEDERATION, "소상공인연합회", "Korea Federation of Micro Enterprise", ConsentRule.send_without,
            (Program("association_support", "단체 지원", "association support"),),
        ),
    )
}


def with_rules(overrides: dict[str, ConsentRule]) -> dict[AgencyCode, Agency]:
    """The catalogue with some agencies' consent rules replaced (configuration)."""
    from dataclasses import replace

    return {code: replace(a, consent_rule=overrides.get(code.value, a.consent_rule)) for code, a in AGENCIES.items()}
