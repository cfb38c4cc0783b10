"""The handlers' custom metrics, as the CloudWatch Embedded Metric Format lines they print: what the
stack's dashboard and alarms read (infra/monitoring.py)."""

from __future__ import annotations

from tests.unit.test_routes import current_tracking, emit_step


def test_a_tracking_counts_connection_start_switch_fencing_and_410(routes, aws, management_api, emf, monkeypatch):
    routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    old = current_tracking(aws, "conn-a")  # its first event: sent by the route
    assert emit_step(aws, old, 2) == "sent"
    assert emit_step(aws, old, 2) == "duplicate"
    routes.track("conn-a", "ZX-1003")  # another first event sent by the route
    assert emit_step(aws, old, 3) == "superseded"
    management_api.drop("conn-a")
    assert emit_step(aws, current_tracking(aws, "conn-a"), 2) == "detached"

    totals, namespaces = emf()
    assert namespaces == {aws.env["POWERTOOLS_METRICS_NAMESPACE"]} == {"OrderTracking/dev"}
    assert totals == {
        "ConnectionsOpened": 1,
        "TrackingsStarted": 2,
        "EventsEmitted": 3,
        "EmitsRepeated": 1,
        "EmitsFenced": 1,
        "ConnectionsGone": 1,
    }


def test_a_resume_counts_the_replayed_events(routes, aws, emf):
    routes.connect("conn-a")
    routes.track("conn-a", "ZX-1001")
    tracking_id = current_tracking(aws, "conn-a")
    for seq in (2, 3):
        emit_step(aws, tracking_id, seq)
    routes.call("$disconnect", "conn-a")
    emf()
    routes.connect("conn-b")
    routes.track("conn-b", "ZX-1001", resume={"trackingId": tracking_id, "afterSeq": 1})
    totals, _ = emf()
    assert totals == {"ConnectionsOpened": 1, "TrackingsResumed": 1, "EventsReplayed": 2}


def test_a_route_that_crashes_counts_an_error(routes, aws, emf, monkeypatch):
    from order_tracking.orders.catalog import OrderCatalog

    routes.connect("conn-a")
    emf()

    def broken(*args, **kwargs):
        raise RuntimeError("the table is gone")

    monkeypatch.setattr(OrderCatalog, "find", broken)
    routes.track("conn-a", "ZX-1001")
    totals, _ = emf()
    assert totals == {"Errors": 1}
