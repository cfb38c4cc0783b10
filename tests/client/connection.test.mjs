import assert from "node:assert/strict";
import { test } from "node:test";

import { ReconnectingSocket } from "../../client/connection.js";

class FakeTimers {
  constructor() { this.now = 0; this.queue = []; this.nextId = 1; }
  setTimeout(fn, ms) { const id = this.nextId++; this.queue.push({ id, at: this.now + ms, fn }); return id; }
  clearTimeout(id) { this.queue = this.queue.filter((t) => t.id !== id); }
  setInterval(fn, ms) { const id = this.nextId++; const tick = () => { fn(); this.queue.push({ id, at: this.now + ms, fn: tick }); }; this.queue.push({ id, at: this.now + ms, fn: tick }); return id; }
  clearInterval(id) { this.clearTimeout(id); }
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at);
      const next = this.queue[0];
      if (!next || next.at > end) break;
      this.queue.shift();
      this.now = next.at;
      next.fn();
    }
    this.now = end;
  }
}

function fakeWebSocketClass() {
  const sockets = [];
  class FakeWebSocket {
    constructor(url) { this.url = url; this.readyState = 0; this.sent = []; sockets.push(this); }
    send(data) { this.sent.push(JSON.parse(data)); }
    close() { this.readyState = 3; this.onclose?.({ code: 1000 }); }
    open() { this.readyState = 1; this.onopen?.(); }
    drop() { this.readyState = 3; this.onclose?.({ code: 1006 }); }
    receive(frame) { this.onmessage?.({ data: JSON.stringify(frame) }); }
  }
  return { FakeWebSocket, sockets };
}

function setup(options = {}) {
  const timers = new FakeTimers();
  const { FakeWebSocket, sockets } = fakeWebSocketClass();
  const statuses = [];
  let opens = 0;
  const socket = new ReconnectingSocket("ws://x", {
    WebSocketImpl: FakeWebSocket, timers, random: () => 0.5,
    onStatus: (s) => statuses.push(s), onOpen: () => { opens += 1; }, ...options,
  }).start();
  return { socket, timers, sockets, statuses, opens: () => opens };
}

test("reconnects after a drop with growing jittered delays, and says so", () => {
  const { socket, timers, sockets, statuses } = setup();
  sockets[0].open();
  sockets[0].drop();
  assert.equal(socket.status, "reconnecting");
  for (let i = 1; i <= 4; i += 1) {
    timers.advance(socket.delays.at(-1));
    assert.equal(sockets.length, i + 1);
    sockets[i].drop();
  }
  assert.deepEqual(socket.delays, [250, 500, 1000, 2000, 4000]);
  timers.advance(4000);
  sockets[5].open();
  assert.deepEqual(statuses, ["connecting", "connected", "reconnecting", "connected"]);
});

test("a stable connection resets the backoff", () => {
  const { socket, timers, sockets } = setup();
  sockets[0].open();
  sockets[0].drop();
  timers.advance(socket.delays.at(-1));
  sockets[1].drop();
  timers.advance(socket.delays.at(-1));
  sockets[2].open();
  timers.advance(10_000);
  sockets[2].drop();
  assert.deepEqual(socket.delays, [250, 500, 250]);
});

test("heartbeat pings keep the connection inside the idle timeout", () => {
  const { timers, sockets } = setup();
  sockets[0].open();
  timers.advance(9 * 60 * 1000);
  assert.deepEqual(sockets[0].sent, [{ type: "ping" }, { type: "ping" }]);
});

test("the connection is replaced before the 2-hour limit, without a gap", () => {
  const { socket, timers, sockets, opens } = setup({ heartbeatMs: 10 ** 9 });
  sockets[0].open();
  timers.advance(110 * 60 * 1000);
  assert.equal(sockets.length, 2);
  assert.equal(sockets[0].readyState, 1); // still open until the new one is
  sockets[1].open();
  assert.equal(sockets[0].readyState, 3);
  assert.equal(socket.status, "connected");
  assert.equal(opens(), 2); // the page resumes its tracking on the new connection
});

test("a connection that outlives a short offline spell is shown as connected again", () => {
  const { socket, sockets } = setup();
  sockets[0].open();
  socket.setOffline(true);
  assert.equal(socket.status, "disconnected");
  socket.setOffline(false);
  assert.equal(socket.status, "connected");
  assert.equal(sockets.length, 1); // no second connection
});

test("offline stops reconnecting until the browser is back online", () => {
  const { socket, timers, sockets } = setup();
  sockets[0].open();
  socket.setOffline(true);
  sockets[0].drop();
  assert.equal(socket.status, "disconnected");
  timers.advance(60_000);
  assert.equal(sockets.length, 1);
  socket.setOffline(false);
  assert.equal(sockets.length, 2);
  assert.equal(socket.status, "reconnecting");
});

function setupWithUrl(url) {
  const timers = new FakeTimers();
  const { FakeWebSocket, sockets } = fakeWebSocketClass();
  const socket = new ReconnectingSocket(url, { WebSocketImpl: FakeWebSocket, timers, random: () => 0.5 }).start();
  return { socket, timers, sockets };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

test("a URL function is asked before every attempt, told when the last handshake failed", () => {
  const asked = [];
  const { socket, timers, sockets } = setupWithUrl(({ handshakeFailed }) => {
    asked.push(handshakeFailed);
    return `ws://x/?token=${asked.length}`;
  });
  sockets[0].open();
  sockets[0].drop(); // dropped after opening: the token worked
  timers.advance(socket.delays.at(-1));
  sockets[1].drop(); // closed without opening: refused, as a browser sees it
  timers.advance(socket.delays.at(-1));
  assert.deepEqual(asked, [false, false, true]);
  assert.deepEqual(sockets.map((s) => s.url), ["ws://x/?token=1", "ws://x/?token=2", "ws://x/?token=3"]);
});

test("an asynchronous URL opens once it resolves; one that fails is asked again after a backoff", async () => {
  let fail = true;
  const { socket, timers, sockets } = setupWithUrl(async () => {
    if (fail) throw new Error("no token");
    return "ws://x/?token=fresh";
  });
  await settled();
  assert.equal(sockets.length, 0);
  assert.equal(socket.status, "reconnecting");
  assert.deepEqual(socket.delays, [250]);
  fail = false;
  timers.advance(250);
  await settled();
  assert.equal(sockets.length, 1);
  assert.equal(sockets[0].url, "ws://x/?token=fresh");
  sockets[0].open();
  assert.equal(socket.status, "connected");
});

test("close() while a URL is being asked for opens nothing", async () => {
  let resolve;
  const { socket, sockets } = setupWithUrl(() => new Promise((r) => { resolve = r; }));
  socket.close();
  resolve("ws://x/");
  await settled();
  assert.equal(sockets.length, 0);
  assert.equal(socket.status, "disconnected");
});
