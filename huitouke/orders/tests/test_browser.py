"""The import flow in a real browser with a real background worker: upload → column mapping → progress →
summary → error report download. Screenshots go to $HUITOUKE_HOME/screenshots."""

from __future__ import annotations

from pathlib import Path

import pytest

from huitouke.orders.models import Order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GOLDEN = Path(__file__).resolve().parents[1] / "importers" / "tests" / "golden"


def test_upload_mapping_progress_summary_and_error_report(
    browser, live_server, make_user, huey_worker, screenshot_dir, tmp_path
):
    make_user("owner", "boss")
    source = (GOLDEN / "archive_seed004.csv").read_text(encoding="utf-8-sig").splitlines()
    bad = source[1].split(",")
    bad[source[0].split(",").index("成交金额")] = "abc"
    upload = tmp_path / "my_customers.csv"
    upload.write_text("\n".join([*source, ",".join(bad)]) + "\n", encoding="utf-8-sig")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{live_server.url}/login/?next=/customers/")  # the landing page is the dashboard
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "pass-word-123")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/customers/**")

    page.goto(f"{live_server.url}/imports/")
    page.set_input_files("input[name=orders_file]", str(upload))
    page.screenshot(path=screenshot_dir / "10-import-upload.png", full_page=True)
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#mapping-form")
    page.fill("input[name=save_as]", "店铺客户档案")
    page.screenshot(path=screenshot_dir / "11-import-mapping.png", full_page=True)
    page.click("#start-import")

    page.wait_for_selector("#job-progress")
    page.wait_for_selector("#import-summary", timeout=60_000)
    page.screenshot(path=screenshot_dir / "12-import-summary.png", full_page=True)
    # rows read, new / updated / unchanged orders, lines, new customers, rejected rows: the two good rows of the
    # golden file (two buyers, one item each) and the copy with the amount "abc"
    figures = page.locator("#import-summary dd").all_inner_texts()[1:]
    assert figures == ["3", "2", "0", "0", "2", "2", "1"]
    with page.expect_download() as download:
        page.click("#error-report")
    report = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert report.splitlines()[0] == "row,column,value,reason"
    assert "abc" in report
    assert report.count("abc") == 1
    assert Order.objects.count() == 2
    context.close()
