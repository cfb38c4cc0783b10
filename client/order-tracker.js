// <order-tracker>: the tracker as a custom element, for the hosted page and for a shop's own page
// (docs/client.md). It connects to the WebSocket endpoint, tracks one order, reconnects with backoff and
// jitter, resumes after the last event it has, drops duplicates and events of any other tracking, keeps
// seq order, marks the final state, and says what happens with DOM events. No framework, no build step.
//
//   <order-tracker order-id="ZX-1001" ws-url="wss://…" token="…"></order-tracker>
//   element.getToken = async () => (await fetch("/my-token")).text();   // instead of `token`
//
// Everything that comes from the server is written with textContent, never parsed as HTML.

import { endpointUrl } from "./config.js";
import { ReconnectingSocket } from "./connection.js";
import { STATUSES, statusIcon } from "./icons.js";
import { FINAL_STATUSES, Timeline, normaliseOrderId } from "./timeline.js";
import { TRACKER_CSS } from "./tracker-style.js";

export const DEFAULT_LABELS = Object.freeze({
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  offline: "Offline",
  empty: "Waiting for the order's events…",
  noEndpoint: "No endpoint: set the ws-url attribute.",
  progress: "Order progress",
  timeline: "Order events",
  final: "Final",
  statuses: Object.freeze({}), // status → the word read after each entry (default: the status itself)
  events: Object.freeze({}), // event type → its label (default: the server's)
  errors: Object.freeze({}), // error code → its label (default: the server's)
});

const TOKEN_MARGIN_MS = 30 * 1000; // a token this close to its expiry is renewed before a connection

/** When a JWT expires (ms since the epoch), or Infinity if it does not say or cannot be read. */
export function tokenExpiry(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const { exp } = JSON.parse(atob(payload));
    return Number.isFinite(exp) ? exp * 1000 : Infinity;
  } catch {
    return Infinity;
  }
}

export class OrderTracker extends HTMLElement {
  static observedAttributes = ["order-id", "ws-url", "token"];

  #labels = DEFAULT_LABELS;
  #getToken = null;
  #minted = null; // the last token getToken gave
  #timeline = new Timeline();
  #socket = null;
  #status = null;
  #nodes = null;
  #finalSent = false;
  #reflecting = false;
  #online = () => this.#socket?.setOffline(false);
  #offline = () => this.#socket?.setOffline(true);

  connectedCallback() {
    if (!this.#nodes) this.#build();
    window.addEventListener("online", this.#online);
    window.addEventListener("offline", this.#offline);
    this.#connect();
  }

  disconnectedCallback() {
    window.removeEventListener("online", this.#online);
    window.removeEventListener("offline", this.#offline);
    this.#disconnect();
  }

  attributeChangedCallback(name, previous, value) {
    if (!this.#nodes || previous === value || this.#reflecting) return;
    if (name === "order-id") {
      this.track(value);
    } else {
      this.#disconnect(); // another endpoint or token: a new connection, resuming the tracking
      this.#connect();
    }
  }

  get orderId() { return this.getAttribute("order-id"); }
  set orderId(value) { this.setAttribute("order-id", value); }
  get wsUrl() { return this.getAttribute("ws-url"); }
  set wsUrl(value) { this.setAttribute("ws-url", value); }
  get token() { return this.getAttribute("token"); }
  set token(value) { this.setAttribute("token", value); }

  /** An async function returning a token: asked at connect, and again before a reconnect when the token
   * is about to expire or the last handshake failed (a browser cannot tell a refused token from a
   * network failure). Wins over the `token` attribute. */
  get getToken() { return this.#getToken; }
  set getToken(fetchToken) {
    this.#getToken = typeof fetchToken === "function" ? fetchToken : null;
    this.#minted = null;
    if (this.isConnected && !this.#socket) this.#connect();
  }

  /** Replaceable text: any of DEFAULT_LABELS' keys. */
  get labels() { return this.#labels; }
  set labels(labels) {
    this.#labels = { ...DEFAULT_LABELS, ...labels };
    if (!this.#nodes) return;
    this.#nodes.empty.textContent = this.wsUrl === "" ? this.#labels.noEndpoint : this.#labels.empty;
    this.#nodes.progress.setAttribute("aria-label", this.#labels.progress);
    if (this.#status) this.#showStatus();
    for (const item of [...this.#nodes.timeline.children]) item.remove();
    this.#render();
  }

  /** The order's events as the element holds them (timeline.js), and its connection (connection.js). */
  get timeline() { return this.#timeline; }
  get socket() { return this.#socket; }
  /** "connecting", "connected", "reconnecting" or "offline" (null before the first connection). */
  get status() { return this.#status; }

  /** Track `orderId` (again, if it is the current one): the previous tracking ends. */
  track(orderId) {
    const id = normaliseOrderId(orderId);
    if (!id) return;
    this.#reflecting = true;
    this.setAttribute("order-id", id);
    this.#reflecting = false;
    this.#timeline.track(id);
    this.#finalSent = false;
    this.#render();
    this.#socket?.send({ type: "track_order", orderId: id });
  }

  #build() {
    // light-dom: render into the element itself, styled by the page (the hosted page does, with its
    // styles.css), adopting the nodes it already holds; otherwise into an open shadow root.
    const light = this.hasAttribute("light-dom");
    const root = light ? this : this.attachShadow({ mode: "open" });
    if (!light) {
      if ("adoptedStyleSheets" in root && typeof CSSStyleSheet.prototype.replaceSync === "function") {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(TRACKER_CSS);
        root.adoptedStyleSheets = [sheet];
      } else {
        const style = document.createElement("style");
        style.textContent = TRACKER_CSS;
        root.append(style);
      }
    }
    const find = (selector, make) => (light && this.querySelector(selector)) || root.appendChild(make());
    const status = this.hasAttribute("hide-status")
      ? null
      : find(".badge", () => element("p", { class: "badge", part: "status", role: "status", "aria-live": "polite" }));
    const progress = find(".progress", () => {
      const bar = element("div", {
        class: "progress", id: "progress", part: "progress", role: "progressbar",
        "aria-label": this.#labels.progress, "aria-valuemin": "0", "aria-valuemax": "100", "aria-valuenow": "0",
      });
      bar.append(element("div", { class: "progress-fill", id: "progress-fill", part: "progress-fill" }));
      return bar;
    });
    const timeline = find(".timeline", () =>
      element("ol", {
        class: "timeline", id: "timeline", part: "timeline", "aria-live": "polite", "aria-relevant": "additions",
        "aria-label": this.#labels.timeline,
      }));
    const empty = find(".hint", () => {
      const hint = element("p", { class: "hint", id: "empty", part: "empty" });
      hint.textContent = this.#labels.empty;
      return hint;
    });
    this.#nodes = { status, progress, fill: progress.querySelector(".progress-fill"), timeline, empty };
  }

  #connect() {
    const wsUrl = this.wsUrl;
    if (wsUrl === null || this.#socket) return; // no endpoint yet, or connected already
    if (!wsUrl) {
      this.#nodes.empty.textContent = this.#labels.noEndpoint;
      this.#setStatus("offline");
      return;
    }
    if (!this.token && !this.#getToken) return; // waits for a token
    if (this.orderId && !this.#timeline.orderId) this.#timeline.track(normaliseOrderId(this.orderId));
    const socket = new ReconnectingSocket((attempt) => this.#endpoint(wsUrl, attempt), {
      onStatus: (status) => this.#setStatus(status === "disconnected" ? "offline" : status),
      onOpen: () => {
        const orderId = this.#timeline.orderId;
        if (!orderId) return;
        const resume = this.#timeline.resume();
        socket.send({ type: "track_order", orderId, ...(resume ? { resume } : {}) });
      },
      onMessage: (frame) => this.#accept(frame),
    });
    this.#socket = socket;
    socket.start();
  }

  #disconnect() {
    this.#socket?.close();
    this.#socket = null;
  }

  #endpoint(wsUrl, { handshakeFailed }) {
    if (!this.#getToken) return endpointUrl(wsUrl, this.token);
    const fresh = this.#minted && !handshakeFailed && tokenExpiry(this.#minted) - TOKEN_MARGIN_MS > Date.now();
    if (fresh) return endpointUrl(wsUrl, this.#minted);
    return Promise.resolve()
      .then(() => this.#getToken())
      .then((token) => {
        if (typeof token !== "string" || !token) throw new Error("getToken gave no token");
        this.#minted = token;
        return endpointUrl(wsUrl, token);
      })
      .catch((error) => {
        this.#emit("order-tracker-error", { code: "no_token", label: "No token", detail: String(error?.message ?? error), orderId: this.#timeline.orderId, frame: null });
        throw error; // the connection tries again, with backoff
      });
  }

  #accept(frame) {
    if (!this.#timeline.accept(frame)) return;
    this.#render();
    if (frame.type === "error") {
      const { code, label, detail = null, orderId } = frame;
      this.#emit("order-tracker-error", { code, label, detail, orderId, frame });
      return;
    }
    this.#emit("order-tracker-event", { orderId: frame.orderId, frame });
    if (this.#timeline.isFinal && !this.#finalSent) {
      this.#finalSent = true;
      const entries = this.#timeline.entries;
      this.#emit("order-tracker-final", { orderId: frame.orderId, frame: entries[entries.length - 1] });
    }
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  #setStatus(status) {
    if (status === this.#status) return;
    this.#status = status;
    this.#showStatus();
    this.#emit("order-tracker-status", { status });
  }

  #showStatus() {
    const badge = this.#nodes?.status;
    if (!badge) return;
    badge.dataset.status = this.#status;
    badge.textContent = this.#labels[this.#status] ?? this.#status;
  }

  // The timeline is an aria-live region: entries already shown stay the same nodes, and a new event is
  // one inserted node, so a screen reader announces each event once.
  #render() {
    const { timeline: list, empty, progress, fill } = this.#nodes;
    const timeline = this.#timeline;
    const entries = timeline.entries;
    const wanted = entries.map((frame, i) => ({
      key: frame.eventId,
      frame,
      final: i === entries.length - 1 && FINAL_STATUSES.has(frame.status),
    }));
    const { error } = timeline;
    if (error) wanted.push({ key: `error ${error.code} ${error.at} ${error.detail ?? ""}`, frame: error, final: false });
    const shown = new Map([...list.children].map((item) => [item.dataset.key, item]));
    const keys = new Set(wanted.map((w) => w.key));
    for (const [key, item] of shown) if (!keys.has(key)) item.remove();
    let previous = null;
    for (const { key, frame, final } of wanted) {
      let item = shown.get(key);
      if (item?.isConnected) {
        item.classList.toggle("final", final);
        item.setAttribute("part", entryParts(item.dataset.status, final));
      } else {
        item = this.#entry(frame, final);
        item.dataset.key = key;
      }
      const expected = previous ? previous.nextSibling : list.firstChild;
      if (item !== expected) list.insertBefore(item, expected);
      previous = item;
    }
    empty.hidden = wanted.length > 0;
    const percent = Math.round(timeline.progress * 100);
    progress.setAttribute("aria-valuenow", String(percent));
    progress.dataset.final = timeline.isFinal ? entries[entries.length - 1].status : "";
    fill.style.width = `${percent}%`;
  }

  #entry(frame, final) {
    const labels = this.#labels;
    const status = STATUSES.includes(frame.status) ? frame.status : "error";
    const item = element("li", { class: `entry status-${status}${final ? " final" : ""}`, part: entryParts(status, final) });
    item.dataset.status = status;
    item.dataset.finalLabel = labels.final;
    if (frame.seq) item.dataset.seq = String(frame.seq);
    const icon = statusIcon(document, status);
    icon.setAttribute("part", "icon");
    item.appendChild(icon);
    const label = element("span", { class: "label", part: "label" });
    const text = frame.type === "error" ? labels.errors[frame.code] ?? frame.label : labels.events[frame.type] ?? frame.label;
    label.textContent = frame.type === "error" && frame.detail ? `${text} (${frame.detail})` : String(text ?? "");
    item.appendChild(label);
    const spoken = element("span", { class: "visually-hidden" });
    spoken.textContent = ` (${labels.statuses[status] ?? status})`;
    label.appendChild(spoken);
    const time = element("time", { part: "time" });
    const at = new Date(frame.at);
    if (!Number.isNaN(at.getTime())) {
      time.dateTime = at.toISOString();
      time.textContent = at.toLocaleTimeString();
    }
    item.appendChild(time);
    return item;
  }
}

function entryParts(status, final) {
  return `entry entry-${status}${final ? " final" : ""}`;
}

function element(tag, attributes) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  return node;
}

if (!customElements.get("order-tracker")) customElements.define("order-tracker", OrderTracker);
