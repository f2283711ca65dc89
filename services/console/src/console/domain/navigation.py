"""Which pages each role sees (the menu), and which role each page needs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    path: str
    label: str


NAVIGATION: dict[str, tuple[NavItem, ...]] = {
    "planner": (NavItem("/planner/route", "오늘의 방문"), NavItem("/businesses", "사업체 찾기"), NavItem("/districts", "골목형상점가")),
    "staff": (
        NavItem("/businesses", "사업체 찾기"),
        NavItem("/businesses/new", "사업체 등록"),
        NavItem("/support-requests", "지원 요청"),
        NavItem("/districts", "골목형상점가"),
    ),
    "loan_officer": (
        NavItem("/loans/queue", "심사 대기"),
        NavItem("/loans/overdue", "보증 지연"),
        NavItem("/loans/rounds", "기금 회차 예산"),
    ),
    "auditor": (NavItem("/audit/verify", "검증"), NavItem("/audit/report", "반기 보고서"), NavItem("/audit/application", "시점 조회"),
                NavItem("/districts", "골목형상점가")),
    "operator": (NavItem("/ops", "시스템 상태"),),
    "agency": (NavItem("/agency/referrals", "의뢰 받은 건"),),
}

HOME: dict[str, str] = {role: items[0].path for role, items in NAVIGATION.items()}


def navigation(role: str) -> tuple[NavItem, ...]:
    return NAVIGATION.get(role, ())


def home(role: str) -> str:
    return HOME.get(role, "/")


def allowed(role: str, *roles: str) -> bool:
    """May `role` open a page meant for `roles`?"""
    return role in roles
