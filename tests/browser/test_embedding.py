"""The <order-tracker> element in a shop's own page (docs/client.md): a page on another origin, with a
strict Content-Security-Policy, imports the element from the local client's origin and tracks orders
with tokens its own backend mints; theming, events, token renewal and accessibility inside the shadow
root. The hosted page's own tests (test_client.py, test_accessibility.py) are unchanged."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_accessibility import AXE, BLOCKING
from tests.browser.test_client import SEED_LABELS
from tests.support.host_page import HostPage


@pytest.fixture
def host(site):
    pages = []

    def make(token_lifetimes: list[int] | None = None) -> HostPage:
        page = HostPage(site.web_url, site.ws_url, token_lifetimes)
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.stop()


@pytest.fixture
def open_page(browser):
    contexts = []

    def open_(url: str, *, scheme: str = "light", bypass_csp: bool = False):
        context = browser.new_context(color_scheme=scheme, viewport={"width": 1024, "height": 900}, bypass_csp=bypass_csp)
        contexts.append(context)
        page = context.new_page()
        page.problems = []
        page.on("console", lambda m: m.type in ("error", "warning") and page.problems.append(m.text))
        page.on("pageerror", lambda e: page.problems.append(str(e)))
        page.goto(url)
        return page

    yield open_
    for context in contexts:
        context.close()


def entries(page, order_id: str):
    return page.locator(f'order-tracker[order-id="{order_id}"] li.entry')


def shown_labels(page, order_id: str) -> list[str]:
    return entries(page, order_id).evaluate_all("items => items.map(i => i.querySelector('.label').firstChild.textContent)")


def recorded(page, order_id: str) -> list[list]:
    return [r[1:] for r in page.evaluate("window.recorded") if r[0] == order_id]


def test_a_page_on_another_origin_with_a_strict_csp_tracks_an_order_to_its_end(host, open_page):
    shop = host()
    assert shop.url.split("/")[2] != shop.client_url.split("/")[2]  # another origin
    page = open_page(shop.page(orders="ZX-1001"))
    expect(entries(page, "ZX-1001")).to_have_count(4, timeout=20000)
    assert shown_labels(page, "ZX-1001") == SEED_LABELS["ZX-1001"]
    expect(entries(page, "ZX-1001").last).to_have_attribute("part", "entry entry-success final")
    assert not page.problems, page.problems  # no CSP violation, no CORS refusal, no error


def test_the_events_tell_the_host_what_happens_in_order(host, open_page):
    page = open_page(host().page(orders="ZX-1001,ZX-9999"))
    expect(entries(page, "ZX-1001")).to_have_count(4, timeout=20000)
    expect(entries(page, "ZX-9999")).to_have_count(1, timeout=10000)
    page.wait_for_timeout(200)
    assert recorded(page, "ZX-1001") == [
        ["order-tracker-status", "connecting", None],
        ["order-tracker-status", "connected", None],
        ["order-tracker-event", 1, None],
        ["order-tracker-event", 2, None],
        ["order-tracker-event", 3, None],
        ["order-tracker-event", 4, None],
        ["order-tracker-final", 4, None],
    ]
    assert recorded(page, "ZX-9999")[2:] == [["order-tracker-error", None, "order_not_found"]]


def test_two_elements_on_one_page_track_two_orders_at_once(host, open_page):
    page = open_page(host().page(orders="ZX-1001,ZX-1003"))
    expect(entries(page, "ZX-1001")).to_have_count(4, timeout=20000)
    expect(entries(page, "ZX-1003")).to_have_count(2, timeout=20000)
    assert shown_labels(page, "ZX-1001") == SEED_LABELS["ZX-1001"]
    assert shown_labels(page, "ZX-1003") == SEED_LABELS["ZX-1003"]


def test_a_refused_and_an_expiring_token_are_renewed_through_get_token_and_nothing_is_lost(host, open_page, site):
    # The first token expired long ago (refused at the handshake); the second lives 1 s, so it has
    # expired when the connection drops mid-order; the third lasts an hour.
    shop = host(token_lifetimes=[-120, 1])
    page = open_page(shop.page(orders="ZX-1001"))
    expect(entries(page, "ZX-1001")).to_have_count(1, timeout=15000)
    assert len(shop.token_requests) == 2  # refused, asked again
    site.outage(1.5)  # mid-order: ZX-1001's next events are 1 s apart
    expect(entries(page, "ZX-1001")).to_have_count(4, timeout=20000)
    # The reconnect asked for a fresh token, and so did every handshake that failed during the outage
    # (a browser cannot tell a refused token from a server that is down).
    assert len(shop.token_requests) >= 3
    seqs = entries(page, "ZX-1001").evaluate_all("items => items.map(i => Number(i.dataset.seq))")
    assert seqs == [1, 2, 3, 4]
    assert shown_labels(page, "ZX-1001") == SEED_LABELS["ZX-1001"]
    steps = recorded(page, "ZX-1001")
    assert [r[1] for r in steps if r[0] == "order-tracker-event"] == [1, 2, 3, 4]  # each once, across the outage
    assert ["order-tracker-status", "reconnecting", None] in steps[steps.index(["order-tracker-event", 1, None]) :]


def test_the_host_s_custom_properties_and_parts_style_the_element(host, open_page):
    page = open_page(host().page(orders="ZX-1003", **{"class": "themed"}))
    expect(entries(page, "ZX-1003")).to_have_count(2, timeout=15000)
    style = entries(page, "ZX-1003").first.evaluate(
        "e => { const s = getComputedStyle(e); return [s.backgroundColor, s.color, s.fontFamily, s.borderTopLeftRadius]; }"
    )
    assert style == ["rgb(1, 2, 3)", "rgb(250, 250, 250)", "monospace", "0px"]
    # The host's own CSS does not leak in: its serif font stops at the shadow boundary.
    assert page.locator("order-tracker.themed .badge").evaluate("e => getComputedStyle(e).fontFamily") == "monospace"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_violation_inside_the_shadow_root(host, open_page, scheme):
    page = open_page(host().page(orders="ZX-1001,ZX-9999"), scheme=scheme, bypass_csp=True)  # to inject axe only
    expect(entries(page, "ZX-1001")).to_have_count(4, timeout=20000)
    expect(entries(page, "ZX-9999")).to_have_count(1, timeout=10000)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        """async () => {
          const r = await axe.run(document, { resultTypes: ["violations", "passes"] });
          return {
            violations: r.violations.map((v) => ({
              rule: v.id, impact: v.impact, targets: v.nodes.map((n) => JSON.stringify(n.target)),
            })),
            shadowChecked: r.passes.flatMap((p) => p.nodes).filter((n) => Array.isArray(n.target[0])).length,
          };
        }"""
    )
    blocking = [v for v in result["violations"] if v["impact"] in BLOCKING]
    assert not blocking, blocking
    assert result["shadowChecked"] > 10  # axe looked inside the shadow roots
