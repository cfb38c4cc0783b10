// Types of timeline.js: the order being tracked, apart from the DOM and the socket (docs/protocol.md
// defines the frames).

export type EventStatus = "pending" | "active" | "success" | "warning" | "cancelled" | "error";
export type ErrorCode = "order_not_found" | "bad_request" | "unknown_type" | "throttled" | "internal";

/** An order event, as the server sends it. */
export interface OrderEventFrame {
  type: string;
  label: string;
  status: EventStatus;
  orderId: string;
  /** ISO 8601 UTC: when the event was emitted. */
  at: string;
  /** 1, 2, 3, … within a tracking. */
  seq: number;
  trackingId: string;
  /** Unique; a replayed event keeps it. */
  eventId: string;
}

/** An error, as the server sends it. */
export interface ErrorFrame {
  type: "error";
  code: ErrorCode;
  label: string;
  status: "error";
  /** The order asked for, when it was a valid order id; else null. */
  orderId: string | null;
  at: string;
  detail?: string;
}

export interface Resume {
  trackingId: string;
  afterSeq: number;
}

export declare const FINAL_STATUSES: ReadonlySet<EventStatus>;
export declare const STAGES: readonly string[];

export declare class Timeline {
  /** The order tracked now, or null. */
  orderId: string | null;
  /** The tracking its events belong to (learnt from the first event), or null. */
  trackingId: string | null;
  /** The last error answering the current order, or null. */
  error: ErrorFrame | null;
  /** Events received twice (dropped). */
  duplicates: number;
  /** Frames of another order or tracking (dropped). */
  dropped: number;
  reset(orderId: string | null): void;
  /** Start tracking `orderId`: forget the current timeline; its tracking's late events are dropped. */
  track(orderId: string): void;
  /** What to send as `resume` on a new connection (null: nothing to resume). */
  resume(): Resume | null;
  /** Take one frame from the server; true when what is shown changed. */
  accept(frame: unknown): boolean;
  /** The events, in seq order. */
  readonly entries: OrderEventFrame[];
  /** The highest n such that events 1..n are all here. */
  readonly lastContiguousSeq: number;
  readonly isFinal: boolean;
  /** How far along the happy path the order is, from 0 to 1. */
  readonly progress: number;
}

/** What a person types, as an order code: trimmed and upper-cased. */
export declare function normaliseOrderId(value: unknown): string;
