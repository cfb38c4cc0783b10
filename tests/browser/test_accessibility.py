"""Accessibility: axe-core (from npm, pinned in package.json) audits every state a person can see, in
the light and the dark colour scheme; then what a screen reader hears and what the keyboard alone does.

An audit fails on any serious or critical violation and names each violation's rule and targets.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.test_client import SEED_LABELS, track

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
SCHEMES = ["light", "dark"]
BLOCKING = {"serious", "critical"}
RUN_AXE = """async () => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations.map((v) => ({
    rule: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(" ")),
  }));
}"""


def audit(page, state: str) -> None:
    """Run axe-core on the page as it is now; fail on serious or critical violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = [v for v in page.evaluate(RUN_AXE) if v["impact"] in BLOCKING]
    report = "\n".join(f"  {v['impact']} {v['rule']} ({v['help']}): {', '.join(v['targets'])}" for v in violations)
    assert not violations, f"axe-core, {state}:\n{report}"


@pytest.fixture
def new_page(browser, site):
    """Pages in a colour scheme and viewport of the test's choosing. The page's CSP is bypassed only so
    that axe-core can be injected as a script; nothing it audits depends on the CSP."""
    contexts = []

    def open_page(scheme: str, width: int = 1024, url: str | None = None):
        if not AXE.exists():
            pytest.fail("axe-core is missing: npm ci installs it (make test does)")
        context = browser.new_context(color_scheme=scheme, viewport={"width": width, "height": 800}, bypass_csp=True)
        contexts.append(context)
        page = context.new_page()
        page.goto(url or site.web_url)
        return page

    yield open_page
    for context in contexts:
        context.close()


def connected(page):
    expect(page.locator("#status-badge")).to_have_attribute("data-status", "connected", timeout=15000)
    return page


def track_to_end(page, order_id: str) -> None:
    track(page, order_id)
    expect(page.locator("#timeline li")).to_have_count(len(SEED_LABELS[order_id]), timeout=20000)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_idle_each_seed_order_to_its_end_and_an_error_pass_the_audit(new_page, scheme):
    page = connected(new_page(scheme))
    audit(page, f"{scheme}, idle")
    page.focus("#track-form button")  # the focus ring is part of what is audited
    audit(page, f"{scheme}, Track button focused")
    for order_id in sorted(SEED_LABELS):
        track_to_end(page, order_id)
        audit(page, f"{scheme}, {order_id} at its end")
    track(page, "ZX-9999")
    expect(page.locator("#timeline li.status-error")).to_have_count(1, timeout=10000)
    audit(page, f"{scheme}, unknown order")


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A TCP port that accepts connections and never answers: a WebSocket to it stays connecting."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"ws://127.0.0.1:{listener.getsockname()[1]}/"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_connecting_reconnecting_and_offline_pass_the_audit(new_page, site, silent_endpoint, scheme):
    waiting = new_page(scheme, url=f"{site.web_url}?ws={silent_endpoint}")
    expect(waiting.locator("#status-badge")).to_have_attribute("data-status", "connecting")
    audit(waiting, f"{scheme}, connecting")

    page = connected(new_page(scheme))
    track(page, "ZX-1001")
    expect(page.locator("#timeline li")).to_have_count(1, timeout=10000)
    site.outage(2.5)
    expect(page.locator("#status-badge")).to_have_attribute("data-status", "reconnecting", timeout=5000)
    audit(page, f"{scheme}, reconnecting")
    connected(page)
    page.context.set_offline(True)
    expect(page.locator("#status-badge")).to_have_attribute("data-status", "disconnected", timeout=5000)
    audit(page, f"{scheme}, offline")
    page.context.set_offline(False)
    connected(page)


@pytest.mark.parametrize("scheme", SCHEMES)
def test_the_360_px_layout_passes_the_audit(new_page, scheme):
    page = connected(new_page(scheme, width=360))
    audit(page, f"{scheme}, 360 px, idle")
    track_to_end(page, "ZX-1001")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    audit(page, f"{scheme}, 360 px, ZX-1001 at its end")


# What the live regions say: MutationObserver records every node added to or removed from the timeline
# (an aria-live region with aria-relevant="additions": each added node is read out) and every text the
# status badge (role="status") takes.
RECORD_ANNOUNCEMENTS = """() => {
  window.heard = { added: [], removed: 0, badge: [] };
  new MutationObserver((records) => {
    for (const r of records) {
      for (const node of r.addedNodes) window.heard.added.push(node.querySelector(".label").firstChild.textContent);
      window.heard.removed += r.removedNodes.length;
    }
  }).observe(document.getElementById("timeline"), { childList: true });
  const badge = document.getElementById("status-badge");
  new MutationObserver(() => window.heard.badge.push(badge.textContent))
    .observe(badge, { childList: true, characterData: true, subtree: true });
}"""


def test_a_screen_reader_hears_each_event_once_and_every_change_of_the_connection(new_page, site):
    page = connected(new_page("light"))
    timeline = page.locator("#timeline")
    expect(timeline).to_have_attribute("aria-live", "polite")
    expect(timeline).to_have_attribute("aria-relevant", "additions")
    expect(page.locator("#status-badge")).to_have_attribute("role", "status")
    page.evaluate(RECORD_ANNOUNCEMENTS)

    track_to_end(page, "ZX-1001")
    page.wait_for_timeout(300)
    heard = page.evaluate("window.heard")
    assert heard["added"] == SEED_LABELS["ZX-1001"]  # each event once, in order
    assert heard["removed"] == 0

    site.outage(2.5)
    expect(page.locator("#status-badge")).to_have_attribute("data-status", "reconnecting", timeout=5000)
    connected(page)
    page.wait_for_timeout(1500)  # the resume's answer would have re-added entries by now
    heard = page.evaluate("window.heard")
    assert heard["badge"][:1] == ["Reconnecting…"] and heard["badge"][-1] == "Connected"
    assert heard["added"] == SEED_LABELS["ZX-1001"]  # resuming repeats nothing to the listener

    track_to_end(page, "ZX-1003")  # a switch clears the old entries, then announces the new ones
    heard = page.evaluate("window.heard")
    assert heard["removed"] == len(SEED_LABELS["ZX-1001"])
    assert heard["added"] == SEED_LABELS["ZX-1001"] + SEED_LABELS["ZX-1003"]


def test_everything_works_from_the_keyboard_alone(new_page):
    page = connected(new_page("dark"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "order-id"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"  # a visible focus ring
    page.keyboard.press("Control+A")
    page.keyboard.type("zx-1003")
    page.keyboard.press("Enter")
    expect(page.locator("#timeline li")).to_have_count(2, timeout=10000)
    expect(page.locator("#timeline li").last).to_have_class("entry status-cancelled final")

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Track"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Control+A")
    page.keyboard.type("ZX-1002")
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the button, pressed from the keyboard
    expect(page.locator("#timeline-order")).to_have_text("· ZX-1002")
    expect(page.locator("#timeline li")).to_have_count(len(SEED_LABELS["ZX-1002"]), timeout=20000)
