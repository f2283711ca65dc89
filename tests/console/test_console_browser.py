"""The console in a real headless Chromium against the real stack: the planner's, staff's, loan officer's and
auditor's flows of issue 16, with screenshots at phone (390 px) and desk (1280 px) width."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from sangsaeng_devstack.issuer import DEV_PASSWORD
from tests.console.conftest import SCREENSHOTS, ConsoleStack
from tests.support import HeadersOf, valid_registration_number

pytestmark = pytest.mark.integration
SHOTS = SCREENSHOTS / "console"
PLANNER = HeadersOf("P-2001")
STAFF = HeadersOf("S-1001")
OFFICER = HeadersOf("L-3001")
SEOUL = ZoneInfo("Asia/Seoul")


def shoot(driver, name: str) -> None:
    """The page at phone and desk width (full height), into SHOTS."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for label, width in (("phone", 390), ("desk", 1280)):
        driver.set_window_size(width, 900)
        for _ in range(5):  # the page reflows after a resize: grow the window until the whole page fits
            fits = driver.execute_script(
                "return [document.documentElement.scrollHeight, window.innerHeight, window.outerHeight - window.innerHeight]")
            page, viewport, chrome = fits
            if page <= viewport or viewport >= 6000:
                break
            driver.set_window_size(width, min(page + chrome, 6000))
            time.sleep(0.1)
        driver.save_screenshot(str(SHOTS / f"{name}-{label}.png"))
    driver.set_window_size(1280, 900)


async def wait_for(driver, check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check(driver)
        except WebDriverException:
            found = None  # the page is still loading
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; at {driver.current_url}: {driver.page_source[:3000]}")


def sign_in(driver, site: ConsoleStack, subject: str) -> None:
    """As a person does: the console sends the browser to the issuer's sign-in page, and the issuer back."""
    driver.delete_all_cookies()
    driver.get(site.url("/login"))
    driver.find_element(By.NAME, "username").send_keys(subject)
    driver.find_element(By.NAME, "password").send_keys(DEV_PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def main_text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "main").text


async def test_staff_planner_officer_auditor_flows(console_stack: ConsoleStack, browser) -> None:
    site, driver = console_stack, browser
    async with httpx.AsyncClient(timeout=30) as api:
        # a fund round open today (the seeded ones are 2025's), opened by a loan officer through loans' API
        today = date.today()
        answer = await api.put(site.urls["loans"] + "/rounds/console-test", headers=OFFICER,
                               json={"name": "콘솔 시험 회차", "opens_on": (today - timedelta(days=30)).isoformat(),
                                     "closes_on": (today + timedelta(days=60)).isoformat(), "budget_krw": 3_000_000_000})
        assert answer.status_code == 200, answer.text

    # --- staff: sign in, a wrong registration number is shown before submitting, register, then a loan at once
    sign_in(driver, site, "S-1001")
    await wait_for(driver, lambda d: "사업체 찾기" in d.find_element(By.TAG_NAME, "h1").text, "staff's home")
    driver.get(site.url("/businesses/new"))
    number = driver.find_element(By.NAME, "registration_number")
    number.send_keys("220-81-62518")  # wrong check digit
    assert "검증번호가 맞지 않습니다" in driver.find_element(By.ID, "err-registration_number").text
    shoot(driver, "staff-register-error")
    number.clear()
    regno = valid_registration_number()
    number.send_keys(regno)
    assert driver.find_element(By.ID, "err-registration_number").text == ""
    driver.find_element(By.NAME, "name").send_keys("신설동 콘솔분식")
    Select(driver.find_element(By.NAME, "dong")).select_by_visible_text("신설동")
    driver.find_element(By.NAME, "registered_on").send_keys("03022023")
    driver.execute_script("document.querySelector('input[name=registered_on]').value = '2023-03-02'")
    driver.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    await wait_for(driver, lambda d: "사업체를 등록했습니다" in main_text(d), "the registered business's card")
    business_url = driver.current_url.split("?")[0]
    business_id = business_url.rsplit("/", 1)[-1]
    assert "신설동 콘솔분식" in driver.find_element(By.TAG_NAME, "h1").text
    assert f"{regno[:3]}-{regno[3:5]}-{regno[5:]}" in main_text(driver)
    # at once: a loan application (loans may not know the business yet: the console waits or retries)
    driver.find_element(By.LINK_TEXT, "융자 신청").click()
    amount = driver.find_element(By.NAME, "amount_krw")
    amount.send_keys("30000000")
    assert driver.find_element(By.CSS_SELECTOR, "output.won-preview").text == "3천만원"
    shoot(driver, "staff-loan-form")
    driver.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    await wait_for(driver, lambda d: "융자 신청을 접수했습니다" in main_text(d), "the loan accepted")
    assert "knows no business" not in driver.page_source
    # consent for SEMAS, so that the visit's referral is sent, not held
    for box in driver.find_elements(By.CSS_SELECTOR, "input[name=agencies]"):
        if box.get_attribute("value") == "SEMAS":
            box.click()
    driver.find_element(By.CSS_SELECTOR, "form[action$='/consents'] button").click()
    await wait_for(driver, lambda d: "제3자 제공 동의를 기록했습니다" in main_text(d), "the consent recorded")
    await wait_for(driver, lambda d: "ConsentGiven" in d.find_element(By.ID, "timeline").text or (d.refresh() and False), "ConsentGiven in the timeline")
    # a second consent (중소기업중앙회), withdrawn again through the confirmation step; the SEMAS one stays
    for box in driver.find_elements(By.CSS_SELECTOR, "input[name=agencies]"):
        if box.get_attribute("value") == "KBIZ":
            box.click()
    driver.find_element(By.CSS_SELECTOR, "form[action$='/consents'] button").click()
    await wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, "ul.consents li")) == 2, "both consents listed")
    kbiz = next(li for li in driver.find_elements(By.CSS_SELECTOR, "ul.consents li") if "중소기업중앙회" in li.text)
    assert "유효" in kbiz.text
    kbiz.find_element(By.LINK_TEXT, "철회").click()
    await wait_for(driver, lambda d: "동의 철회 확인" in d.find_element(By.TAG_NAME, "h1").text, "the withdrawal's confirmation")
    confirm = main_text(driver)
    assert "신설동 콘솔분식" in confirm and "중소기업중앙회" in confirm and "소상공인시장진흥공단" not in confirm
    driver.find_element(By.CSS_SELECTOR, "form button.danger").click()  # not confirmed: the browser keeps the form
    assert "동의 철회 확인" in driver.find_element(By.TAG_NAME, "h1").text
    driver.find_element(By.NAME, "note").send_keys("전화로 철회 요청")
    shoot(driver, "staff-consent-withdraw")
    driver.find_element(By.CSS_SELECTOR, "input[name=confirm][value=withdraw]").click()
    driver.find_element(By.CSS_SELECTOR, "form button.danger").click()
    await wait_for(driver, lambda d: "동의 철회를 기록했습니다" in main_text(d), "the withdrawal recorded")
    consents = {li.text.split(" · ")[1]: li.text for li in driver.find_elements(By.CSS_SELECTOR, "ul.consents li")}
    assert "철회됨" in consents["중소기업중앙회"] and "유효" in consents["소상공인시장진흥공단"], consents
    await wait_for(driver, lambda d: "ConsentWithdrawn" in d.find_element(By.ID, "timeline").text or (d.refresh() and False),
                   "ConsentWithdrawn in the timeline")
    shoot(driver, "staff-business-card")

    # staff schedules a visit (the API; the console has no scheduling page): 신설동 is only planner-01's
    async with httpx.AsyncClient(timeout=30) as api:
        async def scheduled():
            answer = await api.post(site.urls["visits"] + "/visits", headers=STAFF, json={"business_id": business_id, "needs": ["closure_support"]})
            return answer.json() if answer.status_code == 201 else None
        visit = await _until(scheduled, "visits to know the business")
    assert visit["planner_id"] == "planner-01"

    # --- planner: today's route (the visit's day), the card open in one tab, the form in another
    sign_in(driver, site, "P-2001")
    await wait_for(driver, lambda d: "방문" in d.find_element(By.TAG_NAME, "h1").text, "planner's route")
    driver.get(site.url(f"/planner/route?day={visit['scheduled_for']}"))
    route = main_text(driver)
    assert "신설동 콘솔분식" in route and "신설동" in route
    shoot(driver, "planner-route")
    driver.get(site.url(f"/businesses/{business_id}"))
    await wait_for(driver, lambda d: "on" in (d.find_element(By.ID, "live-state").get_attribute("class") or ""), "the live stream open")
    card_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(site.url(f"/visits/{visit['id']}/record"))
    driver.find_element(By.CSS_SELECTOR, "input[name=outcome][value=met]").click()
    Select(driver.find_element(By.NAME, "stage_observed")).select_by_value("closing")
    for box in driver.find_elements(By.CSS_SELECTOR, "input[name=needs_identified]"):
        if box.get_attribute("value") == "closure_support":
            box.click()
    driver.find_element(By.NAME, "services_given").send_keys("폐업 절차 안내")
    driver.find_element(By.NAME, "follow_up_action").send_keys("희망리턴패키지 서류 확인")
    driver.execute_script(f"document.querySelector('input[name=follow_up_due]').value = '{(today + timedelta(days=7)).isoformat()}'")
    driver.find_element(By.NAME, "notes").send_keys("<b>임대 만료</b> 예정")
    driver.execute_script(f"document.querySelector('input[name=visited_on]').value = '{today.isoformat()}'")
    shoot(driver, "planner-record-form")
    driver.find_element(By.CSS_SELECTOR, "form.card button[type=submit]").click()
    await wait_for(driver, lambda d: "방문 기록을 저장했습니다" in main_text(d), "the visit recorded")
    assert "희망리턴패키지 서류 확인" in main_text(driver)  # the open follow-up on the card
    assert "<b>임대 만료</b> 예정" in main_text(driver)  # the note, shown as text
    driver.close()
    driver.switch_to.window(card_tab)
    # without reloading: VisitRecorded and the referral it caused arrive in the open card's timeline
    await wait_for(driver, lambda d: "VisitRecorded" in d.find_element(By.ID, "timeline").text, "VisitRecorded live")
    await wait_for(driver, lambda d: "ReferralSent" in d.find_element(By.ID, "timeline").text, "ReferralSent live", timeout=45)
    assert driver.find_elements(By.CSS_SELECTOR, "#timeline li.fresh"), "new entries are marked"
    shoot(driver, "planner-business-live")

    # --- loan officer: the queue, approve (not above the limit), disburse, the schedule and the round's bar
    sign_in(driver, site, "L-3001")
    await wait_for(driver, lambda d: "심사 대기" in d.find_element(By.TAG_NAME, "h1").text, "the queue")
    await wait_for(driver, lambda d: (d.refresh() or True) and "콘솔 시험 회차" in main_text(d), "the screened application in its round")
    shoot(driver, "officer-queue")
    driver.find_element(By.LINK_TEXT, "열기").click()
    assert "₩30,000,000" in main_text(driver) and "3천만원" in main_text(driver)
    application_id = driver.current_url.split("?")[0].rsplit("/", 1)[-1]
    # a moment when it was screened and not yet decided (the auditor looks at it below; whole seconds)
    await asyncio.sleep(1.1)
    before_decision = datetime.now(SEOUL).replace(microsecond=0)
    await asyncio.sleep(1.1)
    driver.find_element(By.CSS_SELECTOR, "form[action$='/decision'] button").click()
    await wait_for(driver, lambda d: "승인했습니다" in main_text(d), "approved")
    driver.find_element(By.CSS_SELECTOR, "form[action$='/disbursement'] button").click()
    await wait_for(driver, lambda d: "집행했습니다" in main_text(d), "disbursed")
    assert "상환 일정" in main_text(driver)
    shoot(driver, "officer-disbursed")
    driver.get(site.url("/loans/rounds"))
    assert "콘솔 시험 회차" in main_text(driver) and "약정 ₩30,000,000" in main_text(driver)
    shoot(driver, "officer-rounds")

    # --- auditor: verify ok, the report with its chart
    sign_in(driver, site, "A-4001")
    await wait_for(driver, lambda d: "원장 검증" in d.find_element(By.TAG_NAME, "h1").text, "verify")
    assert "검증 통과" in main_text(driver)
    shoot(driver, "auditor-verify")
    period = f"{today.year}H{1 if today.month <= 6 else 2}"
    driver.get(site.url(f"/audit/report?period={period}"))
    await wait_for(driver, lambda d: (d.refresh() or True) and "기관 연계" in main_text(d) and d.find_elements(By.CSS_SELECTOR, "svg.chart rect"),
                   "the report with its chart")
    text = main_text(driver)
    assert "방문" in text and "융자 신청" in text
    assert driver.find_elements(By.CSS_SELECTOR, "svg.chart rect[height]:not([height='0.0'])"), "the chart has bars"
    shoot(driver, "auditor-report")
    # the period's export, downloaded as a file: the ledger's lines, this business's events among them
    driver.find_element(By.PARTIAL_LINK_TEXT, "원장 내보내기").click()
    exported = driver.downloads / f"sangsaeng-ledger-{period}.jsonl"
    await wait_for(driver, lambda d: exported.exists() and exported.stat().st_size > 0, f"the download {exported.name}")
    lines = [json.loads(line) for line in exported.read_text(encoding="utf-8").splitlines()]
    ours = {e["type"].split(".")[2] for e in lines if e["subject"] == business_id}
    assert {"ConsentWithdrawn", "VisitRecorded", "LoanSubmitted", "LoanApproved"} <= ours, ours
    assert "BusinessRegistered" not in ours  # a period is chosen by business date: registered on 2023-03-02, it is 2023H1's
    assert all(e["index"] == e["position"] - 1 and e["event_id"] for e in lines)  # each line names its entry in the tree
    assert [e["position"] for e in lines] == sorted(e["position"] for e in lines), "in ledger order"

    # the application as it stood: now (disbursed), and at a moment before its decision (awaiting it)
    driver.get(site.url(f"/businesses/{business_id}"))
    driver.find_element(By.CSS_SELECTOR, f"main a[href='/audit/application?id={application_id}']").click()
    await wait_for(driver, lambda d: (d.refresh() or True) and "집행" in d.find_element(By.CSS_SELECTOR, "#as-of h2").text,
                   "the application disbursed, from the ledger")
    now_text = main_text(driver)
    assert "₩30,000,000" in now_text and "융자 승인" in now_text and "융자 집행" in now_text
    driver.execute_script(f"document.querySelector('input[name=at]').value = '{before_decision:%Y-%m-%dT%H:%M:%S}'")
    driver.find_element(By.CSS_SELECTOR, "form.filters button[type=submit]").click()
    await wait_for(driver, lambda d: "기준" in d.find_element(By.CSS_SELECTOR, "#as-of h2").text and "at=" in d.current_url, "the earlier moment")
    then = driver.find_element(By.ID, "as-of").text
    heading = driver.find_element(By.CSS_SELECTOR, "#as-of h2").text
    assert f"{before_decision.year}년 {before_decision.month}월 {before_decision.day}일 {before_decision:%H:%M:%S} 기준" in heading, heading
    assert "결정 대기" in heading and "융자 심사" in then and "요건 충족" in then
    assert "융자 승인" not in then and "융자 집행" not in then
    shoot(driver, "auditor-application-at")

    # --- operator: one page that tells whether the system is healthy
    sign_in(driver, site, "O-5001")
    await wait_for(driver, lambda d: "시스템 상태" in d.find_element(By.TAG_NAME, "h1").text, "the system's status")
    text = main_text(driver)
    assert "정상" in text and text.count("준비됨") == 6 and "준비 안 됨" not in text
    assert "districts" in [h.text.split()[0] for h in driver.find_elements(By.CSS_SELECTOR, "main section.card h2")]
    assert "데이터베이스 정상" in text and "브로커 정상" in text  # each service's /ready
    assert "intake-timeline" in text and "sangsaeng.visits.events" in text  # a consumer group's lag per topic (/metrics)
    shoot(driver, "operator-status")


async def _until(check, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := await check():
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")
