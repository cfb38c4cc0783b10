// The page: wires the configuration, the reconnecting socket and the timeline model to the DOM.
// Everything that comes from the server is written with textContent, never parsed as HTML.

import { loadConfig } from "./config.js";
import { ReconnectingSocket } from "./connection.js";
import { STATUSES, statusIcon } from "./icons.js";
import { FINAL_STATUSES, Timeline, normaliseOrderId } from "./timeline.js";

const STATUS_TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  disconnected: "Offline",
};

const $ = (id) => document.getElementById(id);

function entryElement(frame, final) {
  const status = STATUSES.includes(frame.status) ? frame.status : "error";
  const item = document.createElement("li");
  item.className = `entry status-${status}${final ? " final" : ""}`;
  item.dataset.status = status;
  if (frame.seq) item.dataset.seq = String(frame.seq);
  item.appendChild(statusIcon(document, status));
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = frame.type === "error" && frame.detail ? `${frame.label} (${frame.detail})` : String(frame.label ?? "");
  item.appendChild(label);
  const spoken = document.createElement("span");
  spoken.className = "visually-hidden";
  spoken.textContent = ` (${status})`;
  label.appendChild(spoken);
  const time = document.createElement("time");
  const at = new Date(frame.at);
  if (!Number.isNaN(at.getTime())) {
    time.dateTime = at.toISOString();
    time.textContent = at.toLocaleTimeString();
  }
  item.appendChild(time);
  return item;
}

// The timeline list is an aria-live region: entries already shown stay the same nodes, and a new
// event is one inserted node, so a screen reader announces each event once (replacing the whole
// list would read every entry again on every event).
function render(timeline) {
  const list = $("timeline");
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
    } else {
      item = entryElement(frame, final);
      item.dataset.key = key;
    }
    const expected = previous ? previous.nextSibling : list.firstChild;
    if (item !== expected) list.insertBefore(item, expected);
    previous = item;
  }
  $("empty").hidden = wanted.length > 0;
  $("timeline-order").textContent = timeline.orderId ? `· ${timeline.orderId}` : "";
  const percent = Math.round(timeline.progress * 100);
  const progress = $("progress");
  progress.setAttribute("aria-valuenow", String(percent));
  progress.dataset.final = timeline.isFinal ? entries[entries.length - 1].status : "";
  $("progress-fill").style.width = `${percent}%`;
}

function renderStatus(status) {
  const badge = $("status-badge");
  badge.dataset.status = status;
  badge.textContent = STATUS_TEXT[status] ?? status;
  const offline = status !== "connected";
  $("order-id").disabled = offline;
  document.querySelector("#track-form button").disabled = offline;
}

async function main() {
  const config = await loadConfig(window.location.href);
  const timeline = new Timeline();
  renderStatus("connecting");
  if (!config.url) {
    renderStatus("disconnected");
    $("empty").textContent = "No endpoint: add ?ws=wss://… to the URL or deploy config.json.";
    return;
  }
  const socket = new ReconnectingSocket(config.url, {
    onStatus: renderStatus,
    onOpen: () => {
      if (!timeline.orderId) return;
      const resume = timeline.resume();
      socket.send({ type: "track_order", orderId: timeline.orderId, ...(resume ? { resume } : {}) });
    },
    onMessage: (frame) => {
      if (timeline.accept(frame)) render(timeline);
    },
  });
  window.addEventListener("offline", () => socket.setOffline(true));
  window.addEventListener("online", () => socket.setOffline(false));

  $("track-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("order-id");
    const orderId = normaliseOrderId(input.value);
    input.value = orderId;
    if (!orderId) {
      input.focus();
      return;
    }
    timeline.track(orderId);
    render(timeline);
    socket.send({ type: "track_order", orderId });
  });

  socket.start();
  window.orderTracking = { timeline, socket, config }; // for the curious, and for the browser tests
}

main();
