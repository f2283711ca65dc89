"""The district pages in a real headless Chromium: staff sees a district's standing against the rules, its
member stores (counted or not, and why) and its contest entries; a planner sees the same without the
representative's personal data; screenshots at phone and desk width."""

from __future__ import annotations

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.console.conftest import ConsoleStack
from tests.console.test_console_browser import main_text, shoot, sign_in, wait_for
from tests.integration.test_districts_flow import ORIGIN, district_body, offset
from tests.support import STAFF, business_body, eventually

pytestmark = pytest.mark.integration


async def test_a_district_page_shows_its_standing_stores_and_contests(console_stack: ConsoleStack, browser) -> None:
    site, driver = console_stack, browser
    async with httpx.AsyncClient(timeout=30) as api:
        district = (await api.post(site.urls["districts"] + "/districts", headers=STAFF,
                                   json=district_body(name="제기동 <i>약령</i>골목"))).json()
        shops = []
        for name in ("약령 한약방", "약령 건강원"):
            answer = await api.post(site.urls["intake"] + "/businesses", headers=STAFF, json=business_body(name=name))
            assert answer.status_code == 201, answer.text
            shops.append(answer.json()["id"])
        for shop, point, onnuri in ((shops[0], offset(ORIGIN, 20, 20), True), (shops[1], offset(ORIGIN, -8, 20), False)):
            async def join(shop=shop, point=point, onnuri=onnuri):
                answer = await api.post(site.urls["districts"] + f"/districts/{district['id']}/stores", headers=STAFF,
                                        json={"business_id": shop, "longitude": point[0], "latitude": point[1],
                                              "onnuri_merchant": onnuri, "joined_on": "2025-07-10"})
                return None if answer.status_code == 503 else (answer.status_code, answer.text)  # 503: intake's event not there yet
            status, text = await eventually(join, timeout=60, what="the store joins")
            assert status == 201, text
        contest = (await api.post(site.urls["districts"] + "/contests", headers=STAFF, json={
            "organiser": "서울특별시", "title": "골목상권 활성화 공모", "eligibility": "any_district", "budget_krw": 100_000_000,
            "opens_on": "2025-07-01", "deadline": "2025-09-15"})).json()
        entry = await api.post(site.urls["districts"] + f"/contests/{contest['id']}/entries", headers=STAFF,
                               json={"district_id": district["id"], "requested_krw": 30_000_000, "entered_on": "2025-07-20"})
        assert entry.status_code == 201, entry.text

    sign_in(driver, site, "S-1001")
    await wait_for(driver, lambda d: "사업체 찾기" in d.find_element(By.TAG_NAME, "h1").text, "staff's home")
    driver.find_element(By.LINK_TEXT, "골목형상점가").click()
    await wait_for(driver, lambda d: d.find_element(By.TAG_NAME, "h1").text == "골목형상점가", "the districts' list")
    row = driver.find_element(By.XPATH, "//table[contains(@class,'list')]//tr[td]")
    assert "제기동 <i>약령</i>골목" in row.text  # the name, escaped, shown as text
    assert "지정 신청" in row.text and "1개 (15개, 미달)" in row.text and "2개" in row.text
    shoot(driver, "staff-districts")
    driver.find_element(By.PARTIAL_LINK_TEXT, "약령").click()
    await wait_for(driver, lambda d: "상인회" in main_text(d), "the district's page")
    text = main_text(driver)
    assert "대표 김대표 (010-9876-5432)" in text  # staff see the representative
    assert "구역 3,000㎡ − 도로·공용 1,010㎡ = 산정 1,990㎡" in text
    assert "회원 2개 · 영업 중(산정) 1개 · 온누리상품권 가맹 1개" in text
    rules = {r.get_attribute("class"): r.text for r in driver.find_elements(By.CSS_SELECTOR, "tr[class^=rule-]")}
    assert "15개" in rules["rule-dongdaemun_ordinance"] and "미달" in rules["rule-dongdaemun_ordinance"]
    assert "30개" in rules["rule-national_act"]
    stores = {r.find_element(By.CSS_SELECTOR, "td").text: r.text for r in driver.find_elements(By.CSS_SELECTOR, "table.stores tbody tr")}
    assert set(stores) == {"약령 한약방", "약령 건강원"}
    assert "가맹" in stores["약령 한약방"] and stores["약령 한약방"].count("예") == 2  # inside the boundary and counted
    assert "아니오" in stores["약령 건강원"]  # across the road: not counted
    entries = driver.find_element(By.CSS_SELECTOR, "table.entries tbody").text
    assert "골목상권 활성화 공모" in entries and "₩30,000,000" in entries and "발표 전" in entries
    assert not driver.find_elements(By.CSS_SELECTOR, "main i")  # the HTML in the name was not rendered
    shoot(driver, "staff-district")

    sign_in(driver, site, "P-2001")
    await wait_for(driver, lambda d: "방문" in d.find_element(By.TAG_NAME, "h1").text, "planner's route")
    driver.get(site.url(f"/districts/{district['id']}"))
    await wait_for(driver, lambda d: "상인회" in main_text(d), "the district's page for a planner")
    assert "김대표" not in main_text(driver) and "010-9876-5432" not in driver.page_source
    shoot(driver, "planner-district")
