"""What the handlers' work is made of, built from the settings the stack gives (runtime/settings.py),
in this one place: the packages below read no settings, they are handed their tables, endpoints and
bounds. Each builder is cheap (the clients and tables behind it are built once per process), and
imports what it builds only when asked: a handler of simulated orders never loads the live-order code
(about 14 ms of its cold start)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from order_tracking.runtime import settings
from order_tracking.runtime.settings import (
    GatewaySettings,
    OrderSettings,
    PublishSettings,
    RetentionSettings,
    StoreSettings,
    TokenSettings,
    TrackingSettings,
    WatcherSettings,
)

if TYPE_CHECKING:
    from order_tracking.connections.store import ConnectionStore
    from order_tracking.delivery.gateway import Gateway
    from order_tracking.live.publish import Publisher
    from order_tracking.live.streams import StreamStore
    from order_tracking.live.watchers import WatcherStore
    from order_tracking.live.watching import Watching
    from order_tracking.orders.catalog import OrderCatalog
    from order_tracking.simulated.lifecycle import Executions, Tracker
    from order_tracking.simulated.trackings import TrackingStore


def connections() -> ConnectionStore:
    from order_tracking.connections.store import ConnectionStore

    return ConnectionStore(settings.load(StoreSettings).connections_table)


def trackings() -> TrackingStore:
    from order_tracking.simulated.trackings import TrackingStore

    return TrackingStore(settings.load(StoreSettings).trackings_table)


def catalog() -> OrderCatalog:
    from order_tracking.orders.catalog import OrderCatalog

    return OrderCatalog(settings.load(OrderSettings).orders_table)


def gateway() -> Gateway:
    from order_tracking.delivery.gateway import Gateway

    return Gateway(settings.load(GatewaySettings).connections_endpoint)


def tracker() -> Tracker:
    from order_tracking.simulated.lifecycle import Tracker

    return Tracker(trackings(), gateway())


def executions() -> Executions:
    from order_tracking.simulated.lifecycle import Executions

    return Executions(settings.load(TrackingSettings), settings.load(RetentionSettings).retention_seconds)


def streams() -> StreamStore:
    from order_tracking.live.streams import StreamStore

    return StreamStore(settings.load(OrderSettings).orders_table, settings.load(RetentionSettings).retention_seconds)


def watchers() -> WatcherStore:
    from order_tracking.live.watchers import WatcherStore

    return WatcherStore(settings.load(WatcherSettings).watchers_table)


def watching() -> Watching:
    from order_tracking.live.watching import Watching

    return Watching(streams(), watchers(), gateway())


def publisher() -> Publisher:
    from order_tracking.live.publish import Publisher

    return Publisher(streams(), watchers(), gateway())


def publish_failures_queue() -> str:
    return settings.load(PublishSettings).failures_queue_url


def signing_secret_id() -> str:
    return settings.load(TokenSettings).signing_secret_id
