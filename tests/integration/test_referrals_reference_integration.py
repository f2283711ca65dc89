"""The reference agency integration (integrations/agency-reference), run as its own process
against the real referrals service and broker: it reads only its agency's topic, validates
every event against the published JSON Schema, and answers through the agency API."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import httpx

from sangsaeng_common.contracts.common import AgencyCode, Need
from tests.integration.referrals_helpers import Producers, agency_subject, as_agency, by_program, referrals_of, start_referrals, wait_referrals
from sangsaeng_devstack.issuer import DEV_PASSWORD
from tests.support import STAFF, eventually, issuer, url_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "integrations" / "agency-reference" / "agency_reference.py"
SCG, SEMAS, DDM = AgencyCode.SEOUL_CREDIT_GUARANTEE, AgencyCode.SEMAS, AgencyCode.DDM_CHAMBER


async def run_integration(stack, referrals, agency: AgencyCode, log_name: str) -> list[dict]:
    token_url = issuer().discovery()["token_endpoint"]  # the agency gets its own token, as an integrator would
    argv = [sys.executable, str(SCRIPT), "--agency", agency.value, "--token-url", token_url,
            "--client-id", agency_subject(agency), "--client-secret", DEV_PASSWORD,
            "--bootstrap-servers", stack.bootstrap_servers, "--api-url", url_for(referrals, ""),
            "--schemas", str(ROOT / "contracts" / "schemas"), "--exit-when-idle", "4"]
    process = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd="/")
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    except TimeoutError:
        process.kill()
        raise
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    (stack.log_dir / f"{log_name}.log").write_bytes(stdout + b"\n--- stderr ---\n" + stderr)
    assert process.returncode == 0, stderr.decode()[-3000:]
    return [json.loads(line) for line in stdout.decode().splitlines() if line.startswith("{")]


async def test_reference_integration_answers_its_own_referrals_only(stack):
    referrals = await start_referrals(stack)
    async with Producers(stack.bootstrap_servers) as producers, httpx.AsyncClient(timeout=15) as client:
        loan_shop, closing_shop = await producers.business(), await producers.business()
        given = datetime(2025, 4, 30, tzinfo=UTC)
        scg_consent = await producers.consent(loan_shop, SCG, given_at=given)
        await producers.consent(closing_shop, SEMAS, given_at=given)
        await producers.guarantee(loan_shop, amount_krw=30_000_000, requested_on=date(2025, 5, 2))
        await producers.guarantee(closing_shop, amount_krw=20_000_000, requested_on=date(2025, 5, 3))  # held: no consent for SCG
        await producers.visit(closing_shop, Need.closure_support, visited_on=date(2025, 5, 12))

        async def refer_by_hand() -> httpx.Response | None:
            response = await client.post(url_for(referrals, "/referrals"), headers={**STAFF, "Idempotency-Key": "ddm-1"},
                                         json={"business_id": str(loan_shop), "agency": "DDM_CHAMBER", "program": "networking"})
            return response if response.status_code != 422 else None  # 422 until intake's BusinessRegistered arrived

        manual = await eventually(refer_by_hand, timeout=60, interval=0.3, what="the business known to referrals")
        assert manual.status_code == 201, manual.text
        loan = by_program(await wait_referrals(client, referrals, loan_shop,
                                               lambda rs: len(rs) == 2 and all(r["state"] == "sent" for r in rs), "loan shop's referrals"))
        closing = by_program(await wait_referrals(client, referrals, closing_shop,
                                                  lambda rs: len(rs) == 2 and {r["state"] for r in rs} == {"held", "sent"},
                                                  "closing shop's referrals"))
        scg = loan["loan_guarantee"]
        assert closing["loan_guarantee"]["state"] == "held" and closing["hope_return_package"]["state"] == "sent"

        lines = await run_integration(stack, referrals, SCG, "agency-reference-scg")
        assert [line for line in lines if line["action"] == "refused"] == []
        received = [line for line in lines if line["action"] == "received"]
        assert [(r["referral_id"], r["agency"], r["ce_type"]) for r in received] == [
            (scg["id"], "SEOUL_CREDIT_GUARANTEE", "sangsaeng.referrals.ReferralSent.v1")
        ]
        assert received[0]["ce_id"] == scg["sent_event_id"] and received[0]["personal_data_shared"] is True
        (answered,) = [line for line in lines if line["action"] == "answered"]
        assert (answered["acknowledge_status"], answered["outcome_status"], answered["outcome"]) == (200, 200, "guarantee_issued")

        done = (await client.get(url_for(referrals, f"/referrals/{scg['id']}"), headers=as_agency(SCG))).json()
        assert (done["state"], done["outcome"], done["outcome_amount_krw"]) == ("completed", "guarantee_issued", 30_000_000)
        assert done["agency_reference"] == f"SEOUL_CREDIT_GUARANTEE-{scg['id'][:8]}"
        # Nobody else's referral was touched.
        untouched = {r["id"]: r for b in (loan_shop, closing_shop) for r in await referrals_of(client, referrals, b) if r["id"] != scg["id"]}
        assert all(r["agency_reference"] is None and r["outcome"] is None for r in untouched.values())

        # Consent for the held guarantee releases it; the integration resumes from its committed offset
        # and answers only the new referral.
        await producers.consent(closing_shop, SCG, given_at=given)
        await wait_referrals(client, referrals, closing_shop, lambda rs: all(r["state"] == "sent" for r in rs), "released guarantee")
        again = await run_integration(stack, referrals, SCG, "agency-reference-scg-2")
        assert [line["referral_id"] for line in again if line["action"] == "received"] == [closing["loan_guarantee"]["id"]]
        second = (await client.get(url_for(referrals, f"/referrals/{closing['loan_guarantee']['id']}"), headers=STAFF)).json()
        assert (second["state"], second["outcome_amount_krw"]) == ("completed", 20_000_000)
        assert all(line["action"] != "refused" for line in again)


        # DDM_CHAMBER got its referral without personal data (its rule lets it go without). The owner's
        # consent now covers DDM: the chamber is told so on its topic (a follow-up, not a second referral).
        ddm_referral = manual.json()
        assert ddm_referral["personal_data_shared"] is False
        ddm_consent = await producers.consent(loan_shop, DDM, given_at=datetime(2025, 5, 20, tzinfo=UTC))

        async def shared() -> bool:
            found = (await client.get(url_for(referrals, f"/referrals/{ddm_referral['id']}"), headers=STAFF)).json()
            return found["personal_data_shared"] is True

        await eventually(shared, timeout=60, what="the DDM referral shared with personal data")
        ddm = await run_integration(stack, referrals, DDM, "agency-reference-ddm")
        assert all(line["action"] != "refused" for line in ddm)
        steps = [line for line in ddm if line["action"] in ("received", "personal_data_shared")]
        assert [(s["action"], s["referral_id"]) for s in steps] == [("received", ddm_referral["id"]), ("personal_data_shared", ddm_referral["id"])]
        assert steps[0]["personal_data_shared"] is False
        assert (steps[1]["ce_type"], steps[1]["consent_id"]) == ("sangsaeng.referrals.ReferralPersonalDataShared.v1", str(ddm_consent))

        # Referrals SCG holds lose their basis: the loan shop withdraws its consent for SCG, the closing shop is
        # erased. SCG learns both on its topic (and must delete the personal data they came with); nothing to answer.
        await producers.withdraw(loan_shop, scg_consent, SCG)
        await producers.erased(closing_shop)

        async def flagged() -> bool:
            rows = [(await client.get(url_for(referrals, f"/referrals/{i}"), headers=STAFF)).json()
                    for i in (scg["id"], closing["loan_guarantee"]["id"])]
            return all(row["consent_withdrawn_at"] for row in rows)

        await eventually(flagged, timeout=60, what="both SCG referrals flagged")
        lost = await run_integration(stack, referrals, SCG, "agency-reference-scg-3")
        assert all(line["action"] not in ("refused", "received", "answered") for line in lost)
        assert sorted((line["referral_id"], line["basis"], line["delete_personal_data"]) for line in lost if line["action"] == "basis_lost") == sorted(
            [(scg["id"], "consent_withdrawn", True), (closing["loan_guarantee"]["id"], "business_erased", True)])
        assert {line["ce_type"] for line in lost if line["action"] == "basis_lost"} == {"sangsaeng.referrals.ReferralBasisLost.v1"}
