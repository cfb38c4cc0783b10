"""What a person sees in the browser: tracking, switching, errors, going offline, hostile labels."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS

SEED_LABELS = {
    "ZX-1001": ["Order received", "Processing", "Shipped", "Delivered"],
    "ZX-1002": ["Order received", "Processing", "Delivery delayed", "Shipped"],
    "ZX-1003": ["Order received", "Cancelled by customer"],
}


def track(page, typed: str) -> None:
    page.fill("#order-id", typed)
    page.click("#track-form button")


def labels(page) -> list[str]:
    """The visible labels (without the status words kept for screen readers)."""
    return page.locator("#timeline .label").evaluate_all("els => els.map(e => e.firstChild.textContent)")


@pytest.mark.parametrize("order_id", sorted(SEED_LABELS))
def test_each_seed_order_is_tracked_to_its_end(page, order_id):
    track(page, f"  {order_id.lower()} ")  # typed loosely: trimmed and upper-cased
    expect(page.locator("#order-id")).to_have_value(order_id)
    expect(page.locator("#timeline li")).to_have_count(len(SEED_LABELS[order_id]), timeout=20000)
    assert labels(page) == SEED_LABELS[order_id]
    seqs = page.locator("#timeline li").evaluate_all("items => items.map(i => Number(i.dataset.seq))")
    assert seqs == list(range(1, len(seqs) + 1))
    last = page.locator("#timeline li").last
    if order_id == "ZX-1002":  # ends Shipped: not a final state
        expect(last).not_to_have_class("final")
        expect(page.locator("#progress")).to_have_attribute("aria-valuenow", "67")
    else:
        expect(last).to_have_class("entry status-success final" if order_id == "ZX-1001" else "entry status-cancelled final")
    if order_id == "ZX-1001":
        expect(page.locator("#progress")).to_have_attribute("aria-valuenow", "100")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "timeline-delivered.png"), full_page=True)
    # Icons are inline SVG, not emoji that a browser without an emoji font draws as boxes.
    assert page.locator("#timeline li svg.icon").count() == len(SEED_LABELS[order_id])


def test_switching_mid_cycle_clears_the_timeline_and_shows_only_the_new_order(page):
    track(page, "ZX-1001")
    expect(page.locator("#timeline li")).to_have_count(2, timeout=10000)
    track(page, "ZX-1003")
    expect(page.locator("#timeline li")).to_have_count(2, timeout=10000)
    expect(page.locator("#timeline li").last).to_contain_text("Cancelled by customer")
    page.wait_for_timeout(2500)  # the old order's next events would have come by now
    assert labels(page) == SEED_LABELS["ZX-1003"]
    expect(page.locator("#timeline-order")).to_have_text("· ZX-1003")


def test_unknown_order_shows_an_error_entry(page):
    track(page, "zx-9999")
    expect(page.locator("#timeline li")).to_have_count(1, timeout=10000)
    expect(page.locator("#timeline li")).to_have_class("entry status-error")
    expect(page.locator("#timeline .label")).to_contain_text("Order not found")


def test_outage_mid_order_reconnects_with_backoff_and_resumes_a_complete_timeline(page, site):
    track(page, "ZX-1001")
    expect(page.locator("#timeline li")).to_have_count(1, timeout=10000)
    site.outage(2.5)
    expect(page.locator("#status-badge")).to_have_attribute("data-status", "reconnecting", timeout=5000)
    expect(page.locator("#order-id")).to_be_disabled()
    expect(page.locator("#status-badge")).to_have_attribute("data-status", "connected", timeout=30000)
    expect(page.locator("#order-id")).to_be_enabled()
    expect(page.locator("#timeline li")).to_have_count(4, timeout=30000)
    page.wait_for_timeout(1500)
    assert labels(page) == SEED_LABELS["ZX-1001"]
    seqs = page.locator("#timeline li").evaluate_all("items => items.map(i => Number(i.dataset.seq))")
    assert seqs == [1, 2, 3, 4]
    delays = page.evaluate("window.orderTracking.socket.delays")
    assert len(delays) >= 1  # at least one backoff wait, each under its ceiling
    assert all(0 <= d < min(15000, 500 * 2**i) for i, d in enumerate(delays))
    assert page.evaluate("window.orderTracking.timeline.trackingId") is not None


def test_a_hostile_label_is_shown_as_text(page, orders_table):
    hostile = "<img src=x onerror=alert(1)>"
    orders_table.put_item(
        Item={
            "orderId": "ZX-XSS",
            "customerId": "demo",
            "events": [{"type": "order_created", "label": hostile, "status": "pending"}],
        }
    )
    track(page, "ZX-XSS")
    expect(page.locator("#timeline .label")).to_have_text(f"{hostile} (pending)", timeout=10000)
    assert labels(page) == [hostile]
    assert page.locator("#timeline img").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []


def test_usable_on_a_small_phone(browser, site):
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(site.web_url)
    expect(page.locator("#status-badge")).to_have_attribute("data-status", "connected", timeout=15000)
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    expect(page.get_by_label("Order code")).to_be_visible()
    expect(page.locator("#timeline")).to_have_attribute("aria-live", "polite")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "order-id"
    context.close()
