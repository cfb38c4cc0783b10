import assert from "node:assert/strict";
import { test } from "node:test";

import { Timeline, normaliseOrderId } from "../../client/timeline.js";

const event = (seq, { trackingId = "t1", orderId = "ZX-1001", status = "active", type = "order_processing" } = {}) => ({
  type, label: `event ${seq}`, status, orderId, at: "2026-11-28T10:42:11.123Z", seq, trackingId, eventId: `${trackingId}#${seq}`,
});

test("keeps events in seq order whatever order they arrive in", () => {
  const timeline = new Timeline();
  timeline.track("ZX-1001");
  for (const seq of [3, 1, 4, 2]) assert.equal(timeline.accept(event(seq)), true);
  assert.deepEqual(timeline.entries.map((e) => e.seq), [1, 2, 3, 4]);
  assert.equal(timeline.lastContiguousSeq, 4);
});

test("drops duplicates by eventId", () => {
  const timeline = new Timeline();
  timeline.track("ZX-1001");
  timeline.accept(event(1));
  assert.equal(timeline.accept(event(1)), false);
  assert.equal(timeline.entries.length, 1);
  assert.equal(timeline.duplicates, 1);
});

test("drops events of a superseded tracking, even for the same order", () => {
  const timeline = new Timeline();
  timeline.track("ZX-1001");
  timeline.accept(event(1, { trackingId: "old" }));
  timeline.track("ZX-1001");
  assert.equal(timeline.accept(event(2, { trackingId: "old" })), false);
  assert.equal(timeline.accept(event(1, { trackingId: "new" })), true);
  assert.equal(timeline.accept(event(3, { trackingId: "old" })), false);
  assert.deepEqual(timeline.entries.map((e) => e.trackingId), ["new"]);
});

test("drops events of another order", () => {
  const timeline = new Timeline();
  timeline.track("ZX-1002");
  assert.equal(timeline.accept(event(1, { orderId: "ZX-1001" })), false);
  assert.equal(timeline.dropped, 1);
  assert.equal(timeline.entries.length, 0);
});

test("the order tracked twice: the newest tracking wins, even when the earlier one's first event came first", () => {
  // Track pressed twice before anything came back: the first request's event was in flight when the
  // second was sent, so it may arrive first; nothing of it follows the second's first event.
  const timeline = new Timeline();
  timeline.track("ZX-1002");
  timeline.track("ZX-1002");
  assert.equal(timeline.accept(event(1, { orderId: "ZX-1002", trackingId: "earlier" })), true);
  assert.equal(timeline.accept(event(1, { orderId: "ZX-1002", trackingId: "latest" })), true);
  assert.equal(timeline.accept(event(2, { orderId: "ZX-1002", trackingId: "latest" })), true);
  assert.equal(timeline.trackingId, "latest");
  assert.deepEqual(timeline.entries.map((e) => [e.trackingId, e.seq]), [["latest", 1], ["latest", 2]]);
  // Were the server to break its promise, the replaced tracking could not come back.
  assert.equal(timeline.accept(event(2, { orderId: "ZX-1002", trackingId: "earlier" })), false);
});

test("resume asks for what is missing and accepts a new tracking when the old one expired", () => {
  const timeline = new Timeline();
  timeline.track("ZX-1001");
  timeline.accept(event(1));
  timeline.accept(event(3));
  assert.deepEqual(timeline.resume(), { trackingId: "t1", afterSeq: 1 });
  timeline.accept(event(1, { trackingId: "fresh" }));
  assert.equal(timeline.trackingId, "fresh");
  assert.deepEqual(timeline.entries.map((e) => [e.trackingId, e.seq]), [["fresh", 1]]);
});

test("progress follows the happy path and the last delivered or cancelled entry is final", () => {
  const timeline = new Timeline();
  timeline.track("ZX-1001");
  timeline.accept(event(1, { type: "order_created", status: "pending" }));
  timeline.accept(event(2, { type: "order_processing" }));
  assert.equal(timeline.progress, 1 / 3);
  assert.equal(timeline.isFinal, false);
  timeline.accept(event(3, { type: "order_sent" }));
  timeline.accept(event(4, { type: "order_delivered", status: "success" }));
  assert.equal(timeline.progress, 1);
  assert.equal(timeline.isFinal, true);
});

test("an error for the tracked order is shown; pongs are ignored", () => {
  const timeline = new Timeline();
  timeline.track("ZX-9999");
  assert.equal(timeline.accept({ type: "pong", at: "2026-11-28T10:42:11.123Z" }), false);
  assert.equal(timeline.accept({ type: "error", code: "order_not_found", label: "Order not found", status: "error", orderId: "ZX-9999", at: "x" }), true);
  assert.equal(timeline.error.code, "order_not_found");
});

test("order codes are trimmed and upper-cased", () => {
  assert.equal(normaliseOrderId("  zx-1002 "), "ZX-1002");
  assert.equal(normaliseOrderId(undefined), "");
});
