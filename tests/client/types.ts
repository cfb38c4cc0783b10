// Compiled by `tsc --noEmit` in `make lint` (tsconfig.json): a host page's use of the element's and the
// modules' declarations type-checks, and misuse does not (each @ts-expect-error must be an error).

import { DEFAULT_LABELS, OrderTracker, tokenExpiry } from "../../client/order-tracker.js";
import type { OrderTrackerErrorDetail, TrackerStatus } from "../../client/order-tracker.js";
import { ReconnectingSocket } from "../../client/connection.js";
import { Timeline, normaliseOrderId } from "../../client/timeline.js";

const tracker = document.querySelector("order-tracker");
if (tracker) {
  tracker.orderId = "ZX-1001";
  tracker.wsUrl = "wss://example.execute-api.eu-west-1.amazonaws.com/dev";
  tracker.getToken = async () => (await fetch("/token")).text();
  tracker.labels = { connected: "Verbunden", events: { order_sent: "Versandt" }, statuses: { success: "zugestellt" } };
  tracker.addEventListener("order-tracker-event", (event) => {
    const seq: number = event.detail.frame.seq;
    const id: string = event.detail.frame.eventId;
    void [seq, id];
  });
  tracker.addEventListener("order-tracker-status", (event) => {
    const status: TrackerStatus = event.detail.status;
    void status;
  });
  tracker.addEventListener("order-tracker-final", (event) => void event.detail.frame.status);
  tracker.addEventListener("order-tracker-error", (event) => {
    const detail: OrderTrackerErrorDetail = event.detail;
    if (detail.code === "order_not_found") void detail.orderId;
  });
  tracker.track("zx-1002");
  const status: TrackerStatus | null = tracker.status;
  const entries = tracker.timeline.entries;
  const connected = tracker.socket?.status === "connected";
  void [status, entries, connected];
  // @ts-expect-error: a status the element never takes
  const wrong: TrackerStatus = "disconnected";
  // @ts-expect-error: getToken returns a token, not a number
  tracker.getToken = async () => 42;
  // @ts-expect-error: the event's detail has no `seq` of its own
  tracker.addEventListener("order-tracker-event", (event) => void event.detail.seq);
  void wrong;
}

const element: OrderTracker = document.createElement("order-tracker");
const expiry: number = tokenExpiry("a.b.c");
const labels: string = DEFAULT_LABELS.offline;
void [element, expiry, labels];

const timeline = new Timeline();
timeline.track(normaliseOrderId(" zx-1001 "));
const accepted: boolean = timeline.accept({ type: "pong" });
const resume = timeline.resume();
if (resume) void (resume.afterSeq + 1);
void accepted;

const socket = new ReconnectingSocket(({ handshakeFailed }) => (handshakeFailed ? Promise.resolve("wss://a") : "wss://a"), {
  onStatus: (status) => void status,
  heartbeatMs: 60_000,
}).start();
socket.send({ type: "ping" });
// @ts-expect-error: an option the socket does not have
new ReconnectingSocket("wss://a", { heartbeat: 1 });
