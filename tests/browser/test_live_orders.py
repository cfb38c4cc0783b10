"""Live orders in the browser: the client shows an order a backend publishes like a simulated one,
with nothing changed in it: the timeline grows as events are published, two tabs each show every
event, an outage is resumed without loss or repeat, and a hostile label is text."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from publish.backend import Backend
from publish.statuses import status_change
from tests.browser.test_client import labels, track


@pytest.fixture(scope="module")
def backend(site, stack):
    return Backend.of_local_mode(site.aws_url, stack)


@pytest.fixture(scope="module")
def publish(backend):
    return backend.publish_stored


def new_order() -> str:
    return f"LV-{uuid.uuid4().hex[:6].upper()}"


def seqs(page) -> list[int]:
    return page.locator("#timeline li").evaluate_all("items => items.map(i => Number(i.dataset.seq))")


def test_a_live_order_grows_as_its_events_are_published_and_ends_final(page, publish):
    order_id = new_order()
    publish(status_change(order_id, "order_created"))
    track(page, order_id.lower())
    expect(page.locator("#timeline li")).to_have_count(1, timeout=10000)
    expect(page.locator("#progress")).to_have_attribute("aria-valuenow", "0")
    for count, kind in enumerate(("order_processing", "order_sent", "order_delivered"), start=2):
        publish(status_change(order_id, kind))
        expect(page.locator("#timeline li")).to_have_count(count, timeout=10000)
    assert labels(page) == ["Order received", "Processing", "Shipped", "Delivered"]
    assert seqs(page) == [1, 2, 3, 4]
    expect(page.locator("#timeline li").last).to_have_class("entry status-success final")
    expect(page.locator("#progress")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#timeline-order")).to_have_text(f"· {order_id}")


def test_two_tabs_each_show_every_event(browser, site, publish):
    order_id = new_order()
    publish(status_change(order_id, "order_created"))
    context = browser.new_context()
    tabs = [context.new_page() for _ in range(2)]
    for tab in tabs:
        tab.goto(site.web_url)
        expect(tab.locator("#status-badge")).to_have_attribute("data-status", "connected", timeout=15000)
        track(tab, order_id)
        expect(tab.locator("#timeline li")).to_have_count(1, timeout=10000)
    publish(status_change(order_id, "order_delayed", label="Held at customs"))
    for tab in tabs:
        expect(tab.locator("#timeline li")).to_have_count(2, timeout=10000)
        assert labels(tab) == ["Order received", "Held at customs"]
        expect(tab.locator("#timeline li").last).to_have_class("entry status-warning")
    context.close()


def test_events_published_during_an_outage_arrive_once_after_it(page, site, publish, backend):
    order_id = new_order()
    publish(status_change(order_id, "order_created"))
    track(page, order_id)
    expect(page.locator("#timeline li")).to_have_count(1, timeout=10000)
    site.outage(2.5)
    expect(page.locator("#status-badge")).to_have_attribute("data-status", "reconnecting", timeout=5000)
    publish(status_change(order_id, "order_processing"))
    publish(status_change(order_id, "order_sent"))
    backend.publish(status_change(order_id, "order_sent"))  # a backend's retry: the same event
    expect(page.locator("#status-badge")).to_have_attribute("data-status", "connected", timeout=30000)
    expect(page.locator("#timeline li")).to_have_count(3, timeout=15000)
    publish(status_change(order_id, "order_delivered"))
    expect(page.locator("#timeline li")).to_have_count(4, timeout=10000)
    page.wait_for_timeout(500)
    assert seqs(page) == [1, 2, 3, 4]
    assert page.evaluate("window.orderTracking.timeline.duplicates") == 0


def test_a_published_hostile_label_is_shown_as_text(page, publish):
    order_id = new_order()
    hostile = "<img src=x onerror=alert(1)>"
    publish(status_change(order_id, "order_created", label=hostile))
    track(page, order_id)
    expect(page.locator("#timeline .label")).to_have_text(f"{hostile} (pending)", timeout=10000)
    assert page.locator("#timeline img").count() == 0
    page.wait_for_timeout(300)
    assert page.dialogs == []
