"""The console's locks, over real HTTP to `jobsync serve`: sign-in on every page, CSRF on every form,
escaping everywhere, viewers who cannot act, throttled sign-ins, and no secret on any page."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from tests.console_rig import PASSWORD, SECRET_KEY, SHARED_EMAIL, console, csrf_of, row, twin_contacts

PAGES = ["/", "/history", "/contacts", "/settings", "/jobs/J1", "/contacts/search?q=tw", "/history/none"]
FORMS = ["/held/J3/retry", "/held/J3/ignore", "/held/J3/map", "/held/J3/new-name", "/approve", "/contacts/apply"]
XSS = "<script>alert(1)</script>"


def _rows() -> list[str]:
    return [row(1), row(2, client=XSS), row(3, client="Twin Plumbing", email=SHARED_EMAIL)]


def test_every_page_and_form_needs_a_signed_in_user_and_the_probes_do_not(tmp_path: Path) -> None:
    with console(tmp_path, _rows()) as rig:
        for path in PAGES:
            answer = requests.get(rig.url + path, allow_redirects=False)
            assert answer.status_code == 303 and answer.headers["location"] == "/login", path
        for path in FORMS:
            answer = requests.post(rig.url + path, data={"reason": "x"}, allow_redirects=False)
            assert answer.status_code == 303 and answer.headers["location"] == "/login", path
        for path in ("/healthz", "/readyz", "/metrics"):
            assert requests.get(rig.url + path).status_code == 200, path
        forged = requests.Session()
        forged.cookies.set("jobsync_session", "eyJ1IjoiYmVhIiwiYyI6IngifQ.forged.signature")
        assert forged.get(rig.url + "/", allow_redirects=False).status_code == 303


def test_a_post_without_the_right_csrf_token_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    with console(tmp_path, _rows()) as rig:
        twin_contacts(rig.xero)
        assert rig.cli("run").exit_code == 1  # job 3 is held, as cron would leave it
        bea = rig.sign_in("bea")
        assert "Held jobs (1)" in bea.get(rig.url + "/").text
        for token in (None, "", "not-the-token"):
            data = {"reason": "no"} | ({"csrf": token} if token is not None else {})
            refused = bea.post(rig.url + "/held/J3/ignore", data=data)
            assert refused.status_code == 403 and "security token" in refused.text
        assert "Held jobs (1)" in bea.get(rig.url + "/").text
        other = rig.sign_in("vic")  # another session's token is not this session's
        stolen = csrf_of(other.get(rig.url + "/").text)
        assert bea.post(rig.url + "/held/J3/ignore", data={"csrf": stolen, "reason": "x"}).status_code == 403
        listed = rig.cli("jobs", "list").output
        assert "held" in listed and "ignored" not in listed


def test_a_client_named_like_a_script_is_text_on_every_page(tmp_path: Path) -> None:
    with console(tmp_path, _rows()) as rig:
        bea = rig.sign_in("bea")
        pages = [bea.get(rig.url + "/").text]
        assert rig.cli("run").exit_code in (0, 1)
        pages += [bea.get(rig.url + p).text for p in ("/jobs/J2", "/history")]
        runs = re.findall(r'href="/history/([^"]+)"', pages[-1])
        pages += [bea.get(rig.url + f"/history/{r}").text for r in runs]
        assert runs and all(XSS not in page for page in pages)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]
        assert any("&lt;script&gt;" in page for page in pages[3:])  # the run's page names the client too


def test_a_viewer_sees_but_cannot_act(tmp_path: Path) -> None:
    with console(tmp_path, _rows()) as rig:
        twin_contacts(rig.xero)
        vic = rig.sign_in("vic")
        today = vic.get(rig.url + "/").text
        assert "Held jobs (1)" in today and "Retry now" not in today and "/held/J3/ignore" not in today
        token = csrf_of(today)
        for path in FORMS:
            assert vic.post(rig.url + path, data={"csrf": token, "reason": "x", "name": "N"}).status_code == 403
        assert "Held jobs (1)" in vic.get(rig.url + "/").text and rig.xero.invoices() == []


def test_failed_sign_ins_are_throttled_even_for_the_right_password(tmp_path: Path) -> None:
    with console(tmp_path, _rows()) as rig:
        for _ in range(5):
            assert rig.sign_in("bea", "wrong password!").last_status == 401  # type: ignore[attr-defined]
        locked = rig.sign_in("bea", PASSWORD)
        assert locked.last_status == 429  # type: ignore[attr-defined]
        assert locked.get(rig.url + "/", allow_redirects=False).status_code == 303  # no session was given
        assert rig.sign_in("vic").last_status == 200  # another name still signs in from this address
        for n in range(15):  # 20 failures from one address, whatever the names, lock the address
            rig.sign_in(f"guess{n}", "wrong password!")
        assert rig.sign_in("vic").last_status == 429  # type: ignore[attr-defined]


def test_no_secret_appears_on_any_page_and_the_cookie_is_locked_down(tmp_path: Path) -> None:
    with console(tmp_path, _rows()) as rig:
        bea = rig.sign_in("bea")
        for path in PAGES:
            page = bea.get(rig.url + path)
            assert SECRET_KEY not in page.text and PASSWORD not in page.text, path
        assert "***" in bea.get(rig.url + "/settings").text
        login = requests.get(rig.url + "/login")
        token = re.search(r'name="login_csrf" value="([^"]+)"', login.text).group(1)  # type: ignore[union-attr]
        answer = requests.post(
            rig.url + "/login",
            data={"login_csrf": token, "name": "bea", "password": PASSWORD},
            cookies=login.cookies,
            headers={"X-Forwarded-Proto": "https"},  # as the TLS proxy in front says
            allow_redirects=False,
        )
        cookie = answer.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
        stored = (tmp_path / "state.db").read_bytes()
        assert PASSWORD.encode() not in stored and b"$argon2id$" in stored


def test_searching_contacts_works_without_javascript_and_as_an_htmx_fragment(tmp_path: Path) -> None:
    with console(tmp_path, _rows()) as rig:
        made = twin_contacts(rig.xero)
        assert rig.cli("run").exit_code == 1
        bea = rig.sign_in("bea")
        page = bea.get(rig.url + "/", params={"search_job": "J3", "q": "pty"}).text
        assert page.count("Use Twin Plumbing Pty Ltd") == 2  # offered by Xero on the card, and found by the search
        fragment = bea.get(rig.url + "/contacts/search", params={"search_job": "J3", "q": "old"}).text
        assert "<html" not in fragment and "Use Twin Plumbing (old)" in fragment and made[1] in fragment


def test_a_held_credit_note_waits_on_today_and_is_made_once_approved(tmp_path: Path) -> None:
    with console(tmp_path, [row(1, price="100.00")], invoice_status="AUTHORISED") as rig:
        assert rig.cli("run").exit_code == 0
        (tmp_path / "jobs.csv").write_text((tmp_path / "jobs.csv").read_text().replace("100.00", "75.00"))
        assert rig.cli("run").exit_code in (0, 1)  # the cut job's credit note is now held for a person
        bea = rig.sign_in("bea")
        today = bea.get(rig.url + "/").text
        assert "credit note 1 CN1 for 27.50" in today
        made = bea.post(rig.url + "/adjustments/approve", data={"csrf": csrf_of(today), "reference": "1 CN1"})
        assert made.status_code == 200 and "approved 1 CN1" in made.text
        notes = list(rig.xero.state.extra.get("credit_notes", {}).values())
        assert [n["Reference"] for n in notes] == ["1 CN1"]
        assert "Credit notes and extra invoices waiting" not in made.text


def test_the_contacts_page_shows_the_duplicates_with_their_reasons(tmp_path: Path) -> None:
    with console(tmp_path, _rows()) as rig:
        twin_contacts(rig.xero)
        page = rig.sign_in("bea").get(rig.url + "/contacts").text
        assert "Twin Plumbing Pty Ltd" in page and "Twin Plumbing (old)" in page and "Keep:" in page
        assert "on email" in page or "on name" in page


def test_a_job_id_with_slashes_and_marks_has_its_own_page_and_can_be_approved(tmp_path: Path) -> None:
    odd = "J/7 #x|y?z"
    with console(tmp_path, [row(7).replace("J7,", f"{odd},", 1)], approval="required") as rig:
        assert rig.cli("run").exit_code == 0
        bea = rig.sign_in("bea")
        today = bea.get(rig.url + "/").text
        link = re.search(r'href="(/jobs/[^"]+)"', today)
        assert link and "%2F" in link.group(1) and "%23" in link.group(1)
        page = bea.get(rig.url + link.group(1))
        assert page.status_code == 200 and "Job 7" in page.text
        pick = re.search(r'name="pick" id="[^"]+" value="([^"]+)"', today)
        assert pick and pick.group(1).startswith(odd.replace("#", "#"))
        done = bea.post(rig.url + "/approve", data={"csrf": csrf_of(today), "pick": pick.group(1)})
        assert "Approved 1." in done.text, done.text[-2000:]
        assert [i["Reference"] for i in rig.xero.invoices()] == ["7"]


def test_removing_a_user_ends_their_session_at_once(tmp_path: Path) -> None:
    with console(tmp_path, _rows()) as rig:
        vic = rig.sign_in("vic")
        assert vic.get(rig.url + "/", allow_redirects=False).status_code == 200
        assert rig.cli("users", "remove", "vic").exit_code == 0
        assert vic.get(rig.url + "/", allow_redirects=False).status_code == 303
        assert rig.cli("users", "remove", "vic").exit_code == 2  # names the problem, no traceback
