"""The label and status each event type has in the seed orders (infra/seed_orders.json): what
`make publish TYPE=…` and the tests publish when they are not told otherwise."""

from __future__ import annotations

from infra.seed_data import load_seed_orders


def known_statuses() -> dict[str, tuple[str, str]]:
    """{type: (label, status)} of every event type the seed orders use."""
    orders = load_seed_orders()[1]
    return {event["type"]: (event["label"], event["status"]) for events in orders.values() for event in events}


def status_change(
    order_id: str,
    type_: str,
    *,
    customer: str = "demo",
    key: str | None = None,
    label: str | None = None,
    status: str | None = None,
) -> dict[str, str]:
    """A publish's detail; label and status default to the seed orders' for `type_`."""
    default_label, default_status = known_statuses().get(type_, (type_, "active"))
    return {
        "orderId": order_id,
        "customerId": customer,
        "type": type_,
        "label": label or default_label,
        "status": status or default_status,
        "idempotencyKey": key or f"{order_id}/{type_}",
    }
