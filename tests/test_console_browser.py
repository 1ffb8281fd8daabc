"""The console in a real browser: headless Chromium from Debian, driven by Selenium through Debian's
chromium-driver. Each scenario saves screenshots under test-artifacts/screenshots/."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.console_rig import PASSWORD, SHARED_EMAIL, Rig, console, row, twin_contacts
from tests.e2e import xero_api

SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"


@pytest.fixture
def browser() -> Iterator[WebDriver]:
    driver_path, chromium = shutil.which("chromedriver"), shutil.which("chromium")
    assert driver_path and chromium, "chromium or chromedriver is missing: run scripts/ensure-chromium.sh"
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def _shot(driver: WebDriver, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    assert path.stat().st_size > 5_000  # a rendered page, not a blank
    return path


def _sign_in(driver: WebDriver, rig: Rig, name: str = "bea") -> None:
    driver.get(rig.url + "/")  # not signed in: sent to the sign-in page
    assert driver.current_url.endswith("/login")
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "sign-in").click()
    assert driver.find_element(By.TAG_NAME, "h1").text == "Today"


def test_sign_in_then_fix_a_held_job_by_mapping_its_client_and_see_the_invoice(
    tmp_path: Path, browser: WebDriver
) -> None:
    with console(tmp_path, [row(1), row(3, client="Twin Plumbing", email=SHARED_EMAIL)]) as rig:
        twin_contacts(rig.xero)
        assert rig.cli("run").exit_code == 1  # job 3 is held: two contacts share its email
        _sign_in(browser, rig)
        _shot(browser, "01-today-signed-in")
        card = browser.find_element(By.ID, "held-3")
        assert "several Xero contacts" in card.text
        _shot(browser, "02-held-job")
        card.find_element(By.XPATH, ".//button[text()='Use Twin Plumbing Pty Ltd']").click()
        notice = browser.find_element(By.ID, "notice").text
        assert "now invoices to that Xero contact" in notice and "INV-" in notice
        _shot(browser, "03-held-job-fixed")
        made = [i for i in rig.xero.invoices() if i.get("Reference") == "3"]
        assert len(made) == 1 and made[0]["Contact"]["Name"] == "Twin Plumbing Pty Ltd"
        assert "Held jobs (0)" in browser.page_source
        browser.set_window_size(390, 844)  # a phone: the page reflows, nothing needs sideways scrolling
        width = browser.execute_script("return document.documentElement.scrollWidth")
        assert width <= 400
        _shot(browser, "08-today-on-a-phone")


def test_approve_one_then_all_in_approval_mode(tmp_path: Path, browser: WebDriver) -> None:
    with console(tmp_path, [row(1), row(2), row(4)], approval="required") as rig:
        assert rig.cli("run").exit_code == 0 and rig.xero.invoices() == []
        _sign_in(browser, rig)
        assert "Waiting for approval (3)" in browser.page_source
        _shot(browser, "04-approval-queue")
        browser.find_element(By.ID, "pick-2-final").click()
        browser.find_element(By.ID, "approve-selected").click()
        assert "Approved 1." in browser.find_element(By.ID, "notice").text
        assert [i["Reference"] for i in rig.xero.invoices()] == ["2"]
        _shot(browser, "05-approved-one")
        browser.find_element(By.ID, "approve-all").click()
        assert "Approved 2." in browser.find_element(By.ID, "notice").text
        assert sorted(i["Reference"] for i in rig.xero.invoices()) == ["1", "2", "4"]
        assert "Nothing waits for approval." in browser.page_source
        _shot(browser, "06-approved-all")


def test_a_payment_made_in_xero_shows_on_the_job_page(tmp_path: Path, browser: WebDriver) -> None:
    with console(tmp_path, [row(1)], invoice_status="AUTHORISED") as rig:
        assert rig.cli("run").exit_code == 0
        invoice = rig.xero.invoices()[0]
        _sign_in(browser, rig)
        browser.get(rig.url + "/jobs/J1")
        # Found through the implicit wait, not page_source: a loaded page's source can read empty for
        # a moment on a busy machine, and page_source does not wait.
        section = browser.find_element(By.ID, "payments-h").find_element(By.XPATH, "..")
        assert "No payment yet." in section.text
        payment = {"Invoice": {"InvoiceID": invoice["InvoiceID"]}, "Account": {"Code": "090"}}
        payment |= {"Amount": Decimal("40.00"), "Date": "2026-11-30"}
        xero_api(rig.xero).create_payment(rig.xero.tenant_id, payment)  # the bookkeeper pays it in Xero
        assert rig.cli("follow-up").exit_code in (0, 1)
        browser.refresh()
        table = browser.find_element(By.ID, "payments")
        assert "40.00" in table.text and "2026-11-30" in table.text
        assert "AUTHORISED" in browser.page_source  # the invoice's status as the pass back saw it
        rules = browser.find_element(By.ID, "rules-h").find_element(By.XPATH, "..").text
        assert "Labour" in rules and "205 Sales" in rules and "labour" in rules  # the line, its account, its rule
        assert browser.find_elements(By.CSS_SELECTOR, "a[href^='/history/']")  # the run that invoiced it
        _shot(browser, "07-payment-on-the-job")
