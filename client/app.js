// The hosted page: one user of the <order-tracker> element (order-tracker.js), rendered into the page
// itself (light-dom) and styled by styles.css. The page owns what is around the tracker: where to
// connect (config.json, ?ws=, ?token=), the order form, the connection badge in the header, and the
// order code in the timeline's heading.

import { loadConfig } from "./config.js";
import "./order-tracker.js";
import { normaliseOrderId } from "./timeline.js";

const STATUS_TEXT = {
  connecting: "Connecting…",
  connected: "Connected",
  reconnecting: "Reconnecting…",
  disconnected: "Offline",
};

const $ = (id) => document.getElementById(id);

function renderStatus(status) {
  const badge = $("status-badge");
  badge.dataset.status = status;
  badge.textContent = STATUS_TEXT[status] ?? status;
  const offline = status !== "connected";
  $("order-id").disabled = offline;
  document.querySelector("#track-form button").disabled = offline;
}

async function main() {
  const tracker = $("tracker");
  tracker.labels = {
    empty: $("empty").textContent,
    noEndpoint: "No endpoint: add ?ws=wss://… to the URL or deploy config.json.",
  };
  tracker.addEventListener("order-tracker-status", ({ detail }) =>
    renderStatus(detail.status === "offline" ? "disconnected" : detail.status));
  renderStatus("connecting");
  const config = await loadConfig(window.location.href);
  // For the curious, and for the browser tests.
  window.orderTracking = { config, get timeline() { return tracker.timeline; }, get socket() { return tracker.socket; } };
  if (config.token) tracker.token = config.token;
  tracker.wsUrl = config.wsUrl ?? "";

  $("track-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("order-id");
    const orderId = normaliseOrderId(input.value);
    input.value = orderId;
    if (!orderId) {
      input.focus();
      return;
    }
    $("timeline-order").textContent = `· ${orderId}`;
    tracker.track(orderId);
  });
}

main();
