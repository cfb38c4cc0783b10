"""Error frames echo only what passed validation: an invalid orderId or a strange `type` is never sent back."""

from __future__ import annotations

import json

import pytest

from tests.unit.conftest import reply_frame

HOSTILE = ["<img src=x onerror=alert(1)>", "ZX-1001\n\x1b[31mREADY", "\x00ZX", "x" * 10_000, "ZX 1001", "Ω-1"]


@pytest.mark.parametrize("order_id", HOSTILE, ids=["markup", "control", "nul", "10k", "space", "non-ascii"])
def test_an_invalid_order_id_is_refused_and_not_echoed(routes, aws, order_id):
    routes.connect("echo")
    frame = reply_frame(routes.call("track_order", "echo", json.dumps({"type": "track_order", "orderId": order_id})))
    assert frame["code"] == "bad_request" and frame["orderId"] is None
    assert order_id not in json.dumps(frame) and order_id[:20] not in json.dumps(frame)


def test_a_valid_unknown_order_id_is_echoed(routes, aws):
    routes.connect("echo-ok")
    frame = reply_frame(routes.call("track_order", "echo-ok", json.dumps({"type": "track_order", "orderId": "ZX-9999"})))
    assert frame["code"] == "order_not_found" and frame["orderId"] == "ZX-9999"


@pytest.mark.parametrize("kind", ["<script>x</script>", "a\nb", "t" * 40])
def test_an_unknown_type_is_named_only_when_it_is_plain(routes, kind):
    frame = reply_frame(routes.call("$default", "echo", json.dumps({"type": kind, "orderId": "<b>"})))
    assert frame["code"] == "unknown_type" and frame["orderId"] is None
    assert kind not in json.dumps(frame) and frame["detail"] == "unknown message type"
    plain = reply_frame(routes.call("$default", "echo", json.dumps({"type": "teleport", "orderId": "ZX-1001"})))
    assert plain["detail"] == "unknown message type 'teleport'" and plain["orderId"] == "ZX-1001"


def test_an_internal_error_names_the_order_its_request_asked_for_so_a_client_can_tell_which_failed(routes, aws, monkeypatch):
    from order_tracking.orders.catalog import OrderCatalog

    def unavailable(*args, **kwargs):
        raise RuntimeError("DynamoDB unavailable")

    monkeypatch.setattr(OrderCatalog, "find", unavailable)
    routes.connect("echo-internal")
    asked = reply_frame(routes.call("track_order", "echo-internal", json.dumps({"type": "track_order", "orderId": "LV-2001"})))
    assert (asked["code"], asked["orderId"]) == ("internal", "LV-2001")
    hostile = json.dumps({"type": "track_order", "orderId": HOSTILE[0]})
    refused = reply_frame(routes.call("track_order", "echo-internal", hostile))
    assert refused["code"] == "bad_request" and refused["orderId"] is None  # refused before anything could fail
