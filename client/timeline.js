// The timeline of the order being tracked: what the page shows, kept apart from the DOM and the socket.
// Events are deduplicated by eventId, kept in seq order whatever order they arrive in, and events of
// any tracking but the current one are dropped. The current one is the newest tracking of the order
// tracked now (protocol: "which tracking a client is tracking now").

export const FINAL_STATUSES = new Set(["success", "cancelled"]);
// The happy path of an order, to show how far it has come.
export const STAGES = ["order_created", "order_processing", "order_sent", "order_delivered"];

export class Timeline {
  constructor() {
    this.superseded = new Set();
    this.reset(null);
  }

  reset(orderId) {
    this.orderId = orderId;
    this.trackingId = null;
    this.byEventId = new Map();
    this.error = null;
    this.duplicates = 0;
    this.dropped = 0;
  }

  /** Start tracking `orderId`: forget the current timeline; its tracking's late events are dropped. */
  track(orderId) {
    if (this.trackingId) this.superseded.add(this.trackingId);
    this.reset(orderId);
  }

  /** What to ask the server to resume (a different, new trackingId may answer: an expired tracking). */
  resume() {
    return this.trackingId ? { trackingId: this.trackingId, afterSeq: this.lastContiguousSeq } : null;
  }

  /** Take one frame from the server; returns true when what the page shows changed. */
  accept(frame) {
    if (!frame || typeof frame !== "object") return false;
    if (frame.type === "error") {
      if (frame.orderId !== this.orderId && frame.orderId != null) return this.#drop();
      this.error = frame;
      return true;
    }
    if (!Number.isInteger(frame.seq) || typeof frame.trackingId !== "string" || typeof frame.eventId !== "string") {
      return false; // pong and anything else that is not an order event
    }
    if (frame.orderId !== this.orderId || this.superseded.has(frame.trackingId)) return this.#drop();
    if (this.trackingId === null) {
      this.trackingId = frame.trackingId;
    } else if (frame.trackingId !== this.trackingId) {
      // A tracking of this order not seen before answers a later request: the order tracked again
      // before an earlier request's first event arrived, or a resume the server could not honour
      // (an expired tracking). No event of an earlier tracking follows the latest one's first event.
      this.superseded.add(this.trackingId);
      this.trackingId = frame.trackingId;
      this.byEventId = new Map();
    }
    if (this.byEventId.has(frame.eventId)) {
      this.duplicates += 1;
      return false;
    }
    this.byEventId.set(frame.eventId, frame);
    return true;
  }

  #drop() {
    this.dropped += 1;
    return false;
  }

  /** The events, in seq order. */
  get entries() {
    return [...this.byEventId.values()].sort((a, b) => a.seq - b.seq);
  }

  /** The highest n such that events 1..n are all here: what a resume asks to continue after. */
  get lastContiguousSeq() {
    const seqs = new Set(this.entries.map((e) => e.seq));
    let n = 0;
    while (seqs.has(n + 1)) n += 1;
    return n;
  }

  get isFinal() {
    const entries = this.entries;
    return entries.length > 0 && FINAL_STATUSES.has(entries[entries.length - 1].status);
  }

  /** How far along the happy path the order is, from 0 to 1; cancelled orders keep where they stopped. */
  get progress() {
    const reached = this.entries.map((e) => STAGES.indexOf(e.type)).filter((i) => i >= 0);
    return reached.length ? Math.max(...reached) / (STAGES.length - 1) : 0;
  }
}

/** What a person types, as an order code: trimmed and upper-cased. */
export function normaliseOrderId(value) {
  return String(value ?? "").trim().toUpperCase();
}
