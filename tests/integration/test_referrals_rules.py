"""Referral rules end to end: visits' and loans' events refer businesses to agencies, the
30-day rule, consent gating (held → released; withdrawal; erasure), and ReferralSent on both
referrals' topic and the agency's own topic with one ce_id."""

from __future__ import annotations

from collections import Counter
from datetime import date

import httpx

from sangsaeng_common.contracts.common import AgencyCode, Need
from tests.integration.referrals_helpers import (
    REFERRALS_TOPIC, Producers, agency_events, by_program, event_name, events_on, referrals_of, start_referrals, wait_referrals,
)
from tests.support import STAFF, eventually, url_for

SEMAS, KBIZ, EI, SCG, DDM = (AgencyCode.SEMAS, AgencyCode.KBIZ, AgencyCode.EMPLOYMENT_INSURANCE,
                             AgencyCode.SEOUL_CREDIT_GUARANTEE, AgencyCode.DDM_CHAMBER)


async def test_rules_consent_gating_and_both_topics(stack):
    referrals = await start_referrals(stack)
    async with Producers(stack.bootstrap_servers) as producers, httpx.AsyncClient(timeout=15) as client:
        shop, loan_shop, erased_shop = await producers.business(), await producers.business(), await producers.business()
        # The owner consented to sharing with SEMAS and KBIZ, not with the employment insurance agency.
        consent = await producers.consent(shop, SEMAS, KBIZ)
        visit = await producers.visit(shop, Need.closure_support, Need.insurance, Need.education, Need.loan, Need.consulting,
                                      visited_on=date(2025, 5, 12))
        found = by_program(await wait_referrals(client, referrals, shop, lambda rs: len(rs) == 4, "four referrals from the visit"))
        assert set(found) == {"hope_return_package", "yellow_umbrella", "self_employed_insurance", "education"}
        for program in ("hope_return_package", "education", "yellow_umbrella"):
            referral = await eventually(
                lambda p=program: _state(client, referrals, shop, p, "sent"), timeout=60, what=f"{program} sent"
            )
            assert referral["personal_data_shared"] is True and referral["consent_id"] == str(consent)
            assert referral["cause_event_id"] == str(visit.id) and referral["referred_on"] == "2025-05-12"
        held = found["self_employed_insurance"]
        assert (held["agency"], held["state"], held["personal_data_shared"], held["sent_at"]) == (EI, "held", False, None)
        assert found["hope_return_package"]["reason"] == "visit:closure_support"

        # GuaranteeRequested from loans: held for the foundation until consent covers it, then released.
        guarantee = await producers.guarantee(loan_shop, amount_krw=30_000_000, requested_on=date(2025, 5, 2))
        (scg,) = await wait_referrals(client, referrals, loan_shop, lambda rs: len(rs) == 1, "the guarantee referral")
        assert (scg["agency"], scg["program"], scg["state"], scg["amount_krw"]) == (SCG, "loan_guarantee", "held", 30_000_000)
        assert scg["cause_event_id"] == str(guarantee.id) and scg["application_id"]
        await producers.guarantee(loan_shop, application_id=scg["application_id"])  # the same application again: no second referral
        loan_consent = await producers.consent(loan_shop, SCG, DDM)
        scg = await eventually(lambda: _state(client, referrals, loan_shop, "loan_guarantee", "sent"), timeout=60, what="released")
        assert scg["personal_data_shared"] is True and scg["consent_id"] == str(loan_consent)
        assert scg["sent_on"] >= scg["referred_on"]

        # 30-day rule, judged on the visits' own dates.
        await producers.visit(shop, Need.closure_support, Need.education, visited_on=date(2025, 6, 10))  # 29 days later: nothing
        await producers.visit(shop, Need.closure_support, visited_on=date(2025, 6, 11))  # 30 days later: referred again
        again = await wait_referrals(client, referrals, shop, lambda rs: len(rs) == 5, "the second closure referral")
        assert Counter(r["program"] for r in again) == {"hope_return_package": 2, "education": 1, "yellow_umbrella": 1,
                                                        "self_employed_insurance": 1}

        # Withdrawal: KBIZ may no longer get personal data; the referral that shared it is flagged.
        await producers.withdraw(shop, consent, KBIZ)
        await eventually(lambda: _flagged(client, referrals, shop, "yellow_umbrella"), timeout=60, what="withdrawal flagged")
        await producers.visit(shop, Need.insurance, visited_on=date(2025, 7, 20))
        later = await wait_referrals(client, referrals, shop, lambda rs: len(rs) == 7, "insurance referred again (KBIZ and EI)")
        newest_kbiz = [r for r in later if r["program"] == "yellow_umbrella" and r["referred_on"] == "2025-07-20"]
        assert [r["state"] for r in newest_kbiz] == ["held"]  # no consent covers KBIZ any more
        assert [r["state"] for r in later if r["program"] == "self_employed_insurance"] == ["held", "held"]
        assert all(r["consent_withdrawn_at"] is None for r in later if r["program"] == "hope_return_package")  # SEMAS still covered

        # Staff refer by hand; DDM_CHAMBER's rule sends without personal data when no consent covers it.
        manual = await client.post(url_for(referrals, "/referrals"), headers=STAFF,
                                   json={"business_id": str(shop), "agency": "DDM_CHAMBER", "program": "networking", "reason": "상인회 연결",
                                         "referred_on": "2025-05-20"})
        assert manual.status_code == 201, manual.text
        assert (manual.json()["state"], manual.json()["personal_data_shared"], manual.json()["origin"]) == ("sent", False, "staff")
        twice = await client.post(url_for(referrals, "/referrals"), headers=STAFF,
                                  json={"business_id": str(shop), "agency": "DDM_CHAMBER", "program": "networking", "referred_on": "2025-06-01"})
        assert twice.status_code == 409 and twice.json()["existing_id"] == manual.json()["id"]
        bad = await client.post(url_for(referrals, "/referrals"), headers=STAFF,
                                json={"business_id": str(shop), "agency": "SEMAS", "program": "networking"})
        assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "program"

        # Erasure: a held referral (never sent) is cancelled and never released.
        await producers.visit(erased_shop, Need.restart_support, visited_on=date(2025, 5, 14))
        await wait_referrals(client, referrals, erased_shop, lambda rs: [r["state"] for r in rs] == ["held"], "held restart referral")
        await producers.erased(erased_shop)
        await wait_referrals(client, referrals, erased_shop, lambda rs: [r["state"] for r in rs] == ["cancelled"], "cancelled on erasure")
        await producers.consent(erased_shop, SEMAS)
        await producers.visit(erased_shop, Need.education, visited_on=date(2025, 8, 1))
        refused = await client.post(url_for(referrals, "/referrals"), headers=STAFF,
                                    json={"business_id": str(erased_shop), "agency": "KOSME", "program": "policy_funds"})
        assert refused.status_code == 409

        # Both topics carry each ReferralSent, with one ce_id; an agency's topic holds only its own.
        final = {r["id"]: r for b in (shop, loan_shop, erased_shop) for r in await referrals_of(client, referrals, b)}
        sent = {rid: r for rid, r in final.items() if r["sent_event_id"]}
        assert len(sent) == 6 and all(r["state"] in ("held", "cancelled") for rid, r in final.items() if rid not in sent)

        async def published() -> list | None:
            events = [(h, d) for h, d in await events_on(stack.bootstrap_servers, REFERRALS_TOPIC) if event_name(h) == "ReferralSent"]
            return events if len(events) >= len(sent) else None

        on_main = await eventually(published, timeout=60, what="every ReferralSent on referrals' topic")
        assert sorted(h["ce_id"] for h, _ in on_main) == sorted(r["sent_event_id"] for r in sent.values())
        for code in AgencyCode:
            on_agency = await agency_events(stack.bootstrap_servers, code)
            mine = sorted((r["sent_event_id"], rid) for rid, r in sent.items() if r["agency"] == code)
            sent_there = [(h, d) for h, d in on_agency if event_name(h) == "ReferralSent"]
            assert sorted((h["ce_id"], d["referral_id"]) for h, d in sent_there) == mine, code
            # Besides its ReferralSent, an agency's topic tells it only what became of its own referrals:
            # KBIZ learns that the consent behind the yellow-umbrella referral it got was withdrawn.
            told = [(event_name(h), d["referral_id"]) for h, d in on_agency if event_name(h) != "ReferralSent"]
            assert all(name in ("ReferralBasisLost", "ReferralPersonalDataShared") and rid in sent for name, rid in told), code
            if code is KBIZ:
                flagged = [rid for rid, r in sent.items() if r["agency"] == KBIZ and r["consent_withdrawn_at"] is not None]
                assert flagged and {rid for name, rid in told if name == "ReferralBasisLost"} == set(flagged)
            assert all(d["agency"] == code.value and h["ce_source"] == "/sangsaeng/referrals" for h, d in on_agency)
        main_by_id = {h["ce_id"]: (h, d) for h, d in on_main}
        for h, d in await agency_events(stack.bootstrap_servers, SCG):
            assert main_by_id[h["ce_id"]][1] == d  # the same event, byte for byte the same data
            assert d["application_id"] == scg["application_id"] and d["amount_krw"] == 30_000_000
            assert h["ce_causationid"]  # released by the consent event
        semas_closure = next(d for h, d in on_main if d["program"] == "hope_return_package" and d["referred_on"] == "2025-05-12")
        assert semas_closure["cause_event_id"] == str(visit.id)
        assert "name" not in semas_closure and "owner" not in str(semas_closure)


async def _state(client, referrals, business, program, state) -> dict | None:
    found = [r for r in await referrals_of(client, referrals, business) if r["program"] == program and r["state"] == state]
    return found[0] if found else None


async def _flagged(client, referrals, business, program) -> bool:
    return any(r["consent_withdrawn_at"] for r in await referrals_of(client, referrals, business) if r["program"] == program)
