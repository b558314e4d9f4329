"""`report --format html`: one offline file, opened in a real headless chromium (Debian's chromium and
chromium-driver, `make browser`): the block tree opens and closes, columns sort, the numbers are there,
the script runs without errors, and nothing is fetched."""

from __future__ import annotations

import re
import shutil
import tempfile

import pytest
from typer.testing import CliRunner

from archcalc import analyse, load_spec
from archcalc.cli import app

runner = CliRunner()
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1400,1000")  # fmt: skip


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    path = tmp_path_factory.mktemp("html") / "resnet50.html"
    result = runner.invoke(app, ["report", "resnet50", "--format", "html", "--output", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.fail("the HTML report test needs Debian's chromium and chromium-driver: run `make browser`")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    profile = tempfile.mkdtemp(prefix="archcalc-chromium-")
    for flag in CHROMIUM_FLAGS + (f"--user-data-dir={profile}",):
        options.add_argument(flag)
    options.binary_location = chromium
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    # No network at all: a page that needed a CDN would come up without its script.
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.emulateNetworkConditions", {"offline": True, "latency": 0,
                                                                "downloadThroughput": 0, "uploadThroughput": 0})
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


def test_the_file_fetches_nothing(page):
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"""\b(src|href)\s*=""", text)  # no script, style sheet, image or font from anywhere
    assert "<script>" in text and "<style>" in text and "<svg" in text
    assert "@import" not in text and "url(http" not in text


def _row(driver, name: str):
    from selenium.webdriver.common.by import By

    return driver.find_element(By.CSS_SELECTOR, f'table#tree tr[data-name="{name}"]')


def test_tree_opens_and_closes_and_numbers_are_there(browser, page):
    from selenium.webdriver.common.by import By

    browser.get(page.as_uri())
    report = analyse(load_spec("resnet50"))
    assert _row(browser, "layer1").is_displayed() and _row(browser, "layer1.0").is_displayed()  # default depth 2
    assert not _row(browser, "layer1.0.conv1").is_displayed()
    total = browser.find_element(By.CSS_SELECTOR, "table#tree tfoot tr").text
    assert f"{report.totals.params:,}" in total and f"{report.totals.macs:,}" in total
    assert "58.6%" in _row(browser, "layer4").text and "14,964,736" in _row(browser, "layer4").text

    _row(browser, "layer1.0").find_element(By.CSS_SELECTOR, "button.toggle").click()
    conv1 = _row(browser, "layer1.0.conv1")
    assert conv1.is_displayed() and "k1" in conv1.text and "4,096" in conv1.text
    _row(browser, "layer1").find_element(By.CSS_SELECTOR, "button.toggle").click()  # closes everything below
    assert not _row(browser, "layer1.0").is_displayed() and not _row(browser, "layer1.0.conv1").is_displayed()

    browser.find_element(By.CSS_SELECTOR, 'button[data-tree-action="expand"]').click()
    assert _row(browser, "layer3.5.conv3").is_displayed()
    browser.find_element(By.CSS_SELECTOR, 'button[data-tree-action="collapse"]').click()
    assert not _row(browser, "layer3.0").is_displayed() and _row(browser, "layer3").is_displayed()
    severe = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
    assert not severe, severe


def test_layer_columns_sort(browser, page):
    from selenium.webdriver.common.by import By

    browser.get(page.as_uri())
    report = analyse(load_spec("resnet50"))
    header = browser.find_element(By.XPATH, "//table[@id='layers']//th[text()='params']")
    header.click()  # ascending
    header.click()  # descending
    first = browser.find_element(By.CSS_SELECTOR, "table#layers tbody tr").get_attribute("data-name")
    assert first == max(report.layers, key=lambda layer: layer.params).name
    names = browser.execute_script("return Array.from(document.querySelectorAll('#layers tbody tr'))"
                                   ".map(r => r.dataset.name)")  # fmt: skip
    assert sorted(names) == sorted(layer.name for layer in report.layers)
    browser.find_element(By.XPATH, "//table[@id='layers']//th[text()='layer']").click()
    first = browser.find_element(By.CSS_SELECTOR, "table#layers tbody tr").get_attribute("data-name")
    assert first == min(layer.name for layer in report.layers)
    assert browser.find_element(By.CSS_SELECTOR, "svg.diagram").is_displayed()
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.plot")) == 2


def test_spec_text_is_escaped(tmp_path):
    spec = tmp_path / "odd.yaml"
    spec.write_text('name: odd\ndescription: "<script>alert(1)</script> & co"\ninput: [3, 8, 8]\n'
                    "layers:\n  - {type: conv2d, out_channels: 2, kernel: 3}\n")  # fmt: skip
    result = runner.invoke(app, ["report", str(spec), "--format", "html"])
    assert result.exit_code == 0 and "<script>alert" not in result.stdout and "&lt;script&gt;alert(1)" in result.stdout
