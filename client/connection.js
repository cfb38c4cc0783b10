// A WebSocket that stays connected: reconnects with backoff and full jitter (reset once a connection
// has been stable), sends a heartbeat so API Gateway's 10-minute idle timeout never fires, and
// replaces itself before API Gateway's 2-hour connection limit.
//
// Status: "connecting" (first attempt), "connected", "reconnecting" (after a drop, waiting or
// trying), "disconnected" (the browser is offline, or close() was called).
//
// The URL may be a function, asked before every attempt: `url({ handshakeFailed })` returns the URL
// (or a promise of it), where handshakeFailed says the previous attempt closed without ever opening
// (a refused token looks like that to a browser). The tracker element mints a fresh token there.

import { DEFAULT_BACKOFF, backoffDelay } from "./backoff.js";

export const DEFAULTS = Object.freeze({
  ...DEFAULT_BACKOFF,
  heartbeatMs: 4 * 60 * 1000, // well inside the 10-minute idle timeout
  maxLifetimeMs: 110 * 60 * 1000, // replace the connection 10 minutes before the 2-hour limit
  stableAfterMs: 10 * 1000, // a connection open this long resets the backoff
});

const systemTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id),
};

export class ReconnectingSocket {
  constructor(url, { WebSocketImpl = globalThis.WebSocket, timers = systemTimers, random = Math.random, onMessage = () => {}, onOpen = () => {}, onStatus = () => {}, ...options } = {}) {
    this.url = url;
    this.WebSocketImpl = WebSocketImpl;
    this.timers = timers;
    this.random = random;
    this.options = { ...DEFAULTS, ...options };
    this.onMessage = onMessage;
    this.onOpen = onOpen;
    this.onStatus = onStatus;
    this.attempt = 0;
    this.delays = []; // every reconnect delay drawn, for the page and the tests to see
    this.status = null;
    this.socket = null;
    this.stopped = false;
    this.offline = false;
    this.pending = null;
    this.handshakeFailed = false;
  }

  start() {
    this.#setStatus("connecting");
    this.#open();
    return this;
  }

  send(message) {
    if (!this.socket || this.socket.readyState !== 1) return false;
    this.socket.send(JSON.stringify(message));
    return true;
  }

  close() {
    this.stopped = true;
    this.#clearTimers();
    if (this.socket) this.socket.close(1000);
    this.#setStatus("disconnected");
  }

  /** The browser went offline or online (window events). */
  setOffline(offline) {
    this.offline = offline;
    if (offline) {
      this.#setStatus("disconnected");
      return;
    }
    if (this.stopped) return;
    const state = this.socket ? this.socket.readyState : 3;
    if (state === 1) {
      this.#setStatus("connected"); // the connection outlived the outage
    } else if (state === 0) {
      this.#setStatus("reconnecting"); // an attempt is under way: its open or close decides
    } else {
      this.timers.clearTimeout(this.pending);
      this.attempt = 0;
      this.#setStatus("reconnecting");
      this.#open();
    }
  }

  #setStatus(status) {
    if (this.status !== status) {
      this.status = status;
      this.onStatus(status);
    }
  }

  #open() {
    const url = typeof this.url === "function" ? this.url({ handshakeFailed: this.handshakeFailed }) : this.url;
    if (typeof url?.then !== "function") {
      this.#openAt(url);
      return;
    }
    const asked = (this.asked = {}); // a later attempt (or close()) makes this answer stale
    url.then(
      (resolved) => {
        if (asked === this.asked && !this.stopped) this.#openAt(resolved);
      },
      () => {
        if (asked === this.asked && !this.stopped) this.#retry(); // no URL this time (a token refused to come)
      },
    );
  }

  #openAt(url) {
    const socket = new this.WebSocketImpl(url);
    let opened = false;
    const replacing = this.socket && this.socket.readyState === 1 ? this.socket : null;
    this.socket = socket;
    socket.onopen = () => {
      opened = true;
      if (socket !== this.socket) return;
      if (replacing) replacing.close(1000);
      this.#setStatus("connected");
      this.#startTimers();
      this.onOpen();
    };
    socket.onmessage = (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(frame);
    };
    socket.onclose = () => {
      if (socket !== this.socket) return; // a replaced connection closing: nothing to do
      this.#clearTimers();
      this.handshakeFailed = !opened;
      this.#retry();
    };
  }

  #retry() {
    if (this.stopped) return;
    if (this.offline) {
      this.#setStatus("disconnected");
      return;
    }
    this.#setStatus("reconnecting");
    const delay = backoffDelay(this.attempt, this.options, this.random);
    this.attempt += 1;
    this.delays.push(delay);
    this.pending = this.timers.setTimeout(() => this.#open(), delay);
  }

  #startTimers() {
    this.#clearTimers();
    this.stable = this.timers.setTimeout(() => {
      this.attempt = 0;
    }, this.options.stableAfterMs);
    this.heartbeat = this.timers.setInterval(() => this.send({ type: "ping" }), this.options.heartbeatMs);
    this.lifetime = this.timers.setTimeout(() => this.#open(), this.options.maxLifetimeMs);
  }

  #clearTimers() {
    this.timers.clearTimeout(this.stable);
    this.timers.clearInterval(this.heartbeat);
    this.timers.clearTimeout(this.lifetime);
  }
}
