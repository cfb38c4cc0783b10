"""Real-browser tests: Debian's Chromium driven by Playwright against local mode."""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest
from playwright.sync_api import sync_playwright

from local.cli.launcher import LocalModeProcess

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DELAY = 1
# A closed network and root in CI: no background traffic (there is nothing to reach), no sandbox (refused as root).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def site(cdk_out):
    process = LocalModeProcess("--min-delay", str(DELAY), "--max-delay", str(DELAY)).start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is needed: apt-get install --no-install-recommends chromium fonts-liberation (.ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, site):
    context = browser.new_context(viewport={"width": 1024, "height": 900})
    page = context.new_page()
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(site.web_url)
    page.wait_for_selector('#status-badge[data-status="connected"]', timeout=15000)
    yield page
    context.close()


@pytest.fixture(scope="session")
def orders_table(site):
    """The local orders table, to add an order a test needs (as an operator would in DynamoDB)."""
    dynamodb = boto3.resource(
        "dynamodb",
        endpoint_url=site.aws_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    (name,) = [t.name for t in dynamodb.tables.all() if t.name.startswith("TablesOrders")]
    return dynamodb.Table(name)
