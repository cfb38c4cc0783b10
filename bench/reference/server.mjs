// The tutorial's design, one Node.js process with the `ws` package, speaking our wire protocol
// (../../../shared/PROTOCOL.md) so that the same load generator can measure it beside local mode.
//
//   node bench/reference/server.mjs        PORT (0: any free port), SIGNING_SECRET, MIN_DELAY, MAX_DELAY,
//                                          SCHEDULE_LOG (optional: a JSON line per scheduled event)
//
// As in the tutorial: the orders live in memory, each connection has at most one timer chain, a
// new track_order cancels it, and each next event is sent after a random whole number of seconds.
// What the protocol adds: a token checked at the handshake, seq/trackingId/eventId/at on every event,
// events kept in memory for resume, ping, and structured errors. It prints `LISTENING <port>`.

import { createHmac, randomUUID, timingSafeEqual } from "node:crypto";
import { appendFileSync, readFileSync } from "node:fs";
import { WebSocketServer } from "ws";

const SEED = JSON.parse(readFileSync(new URL("../../infra/seed_orders.json", import.meta.url)));
const SECRET = process.env.SIGNING_SECRET ?? "";
const MIN_DELAY = Number(process.env.MIN_DELAY ?? 3);
const MAX_DELAY = Number(process.env.MAX_DELAY ?? 10);
const SCHEDULE_LOG = process.env.SCHEDULE_LOG;
const MAX_FRAME_BYTES = 128 * 1024;
const RETENTION_MS = 24 * 3600 * 1000;

const trackings = new Map(); // trackingId -> {customer, orderId, events, socket, timer}

function customerOf(token) {
  // HS256 with the same claims as the $connect authorizer (iss, aud, exp, sub).
  const parts = (token ?? "").split(".");
  if (parts.length !== 3) return null;
  const expected = createHmac("sha256", SECRET).update(`${parts[0]}.${parts[1]}`).digest();
  const given = Buffer.from(parts[2], "base64url");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], "base64url"));
    const claims = JSON.parse(Buffer.from(parts[1], "base64url"));
    const fresh = typeof claims.exp === "number" && claims.exp + 30 > Date.now() / 1000;
    const ours = claims.iss === "order-tracking" && claims.aud === "order-tracking-client";
    return header.alg === "HS256" && fresh && ours && typeof claims.sub === "string" ? claims.sub : null;
  } catch {
    return null;
  }
}

const now = () => new Date().toISOString();
const send = (socket, frame) => socket?.readyState === 1 && socket.send(JSON.stringify(frame));
const error = (code, label, orderId) => ({ type: "error", code, label, status: "error", orderId: orderId ?? null, at: now() });
const randomDelay = () => MIN_DELAY + Math.floor(Math.random() * (MAX_DELAY - MIN_DELAY + 1));

function emit(trackingId, tracking) {
  const seq = tracking.events.length + 1;
  const event = { ...SEED.orders[tracking.orderId][seq - 1], orderId: tracking.orderId, at: now(), seq, trackingId, eventId: `${trackingId}#${seq}` };
  tracking.events.push(event);
  send(tracking.socket, event);
  schedule(trackingId, tracking);
}

function schedule(trackingId, tracking) {
  if (tracking.events.length >= SEED.orders[tracking.orderId].length) {
    tracking.timer = setTimeout(() => trackings.delete(trackingId), RETENTION_MS).unref();
    return;
  }
  const delayMs = randomDelay() * 1000;
  if (SCHEDULE_LOG) {
    const line = { trackingId, seq: tracking.events.length + 1, scheduledAt: Date.now() + delayMs };
    appendFileSync(SCHEDULE_LOG, `${JSON.stringify(line)}\n`);
  }
  tracking.timer = setTimeout(() => emit(trackingId, tracking), delayMs);
}

function trackOrder(socket, state, body) {
  const current = trackings.get(state.trackingId);
  if (current) {
    // As in the tutorial, a new request cancels the running cycle.
    clearTimeout(current.timer);
    trackings.delete(state.trackingId);
    state.trackingId = null;
  }
  const orderId = body.orderId;
  if (typeof orderId !== "string" || orderId.length === 0 || orderId.length > 64) {
    return send(socket, error("bad_request", "Bad request", null));
  }
  if (!SEED.orders[orderId] || SEED.ownerCustomerId !== state.customer) {
    return send(socket, error("order_not_found", "Order not found", orderId));
  }
  const resumed = body.resume && trackings.get(body.resume.trackingId);
  if (resumed && resumed.customer === state.customer && resumed.orderId === orderId) {
    state.trackingId = body.resume.trackingId;
    resumed.socket = socket;
    const afterSeq = Number(body.resume.afterSeq) || 0;
    for (const event of resumed.events.filter((e) => e.seq > afterSeq)) send(socket, event);
    return;
  }
  const trackingId = randomUUID();
  const tracking = { customer: state.customer, orderId, events: [], socket, timer: null };
  trackings.set(trackingId, tracking);
  state.trackingId = trackingId;
  emit(trackingId, tracking);
}

function onMessage(socket, state, data, isBinary) {
  if (isBinary || data.length > MAX_FRAME_BYTES) return send(socket, error("bad_request", "Bad request", null));
  let body;
  try {
    body = JSON.parse(data.toString("utf8"));
  } catch {
    return send(socket, error("bad_request", "Bad request", null));
  }
  if (body === null || typeof body !== "object" || Array.isArray(body)) return send(socket, error("bad_request", "Bad request", null));
  if (body.type === "track_order") return trackOrder(socket, state, body);
  if (body.type === "ping") return send(socket, { type: "pong", at: now() });
  return send(socket, error("unknown_type", "Unknown message type", null));
}

function verifyClient({ req }, done) {
  // The handshake fails with 401 without a valid token: no connection is made.
  req.customer = customerOf(new URL(req.url, "http://localhost").searchParams.get("token"));
  done(Boolean(req.customer), 401, "Unauthorized");
}

const server = new WebSocketServer({ host: "127.0.0.1", port: Number(process.env.PORT ?? 0), maxPayload: MAX_FRAME_BYTES, verifyClient });
server.on("connection", (socket, request) => {
  const state = { customer: request.customer, trackingId: null };
  socket.on("message", (data, isBinary) => onMessage(socket, state, data, isBinary));
  socket.on("close", () => {
    const tracking = trackings.get(state.trackingId);
    if (tracking?.socket === socket) tracking.socket = null;
  });
});
server.on("listening", () => console.log(`LISTENING ${server.address().port}`));
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => server.close(() => process.exit(0)));
