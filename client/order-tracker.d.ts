// Types of order-tracker.js: the <order-tracker> element (docs/client.md).

import type { ReconnectingSocket } from "./connection.js";
import type { ErrorCode, ErrorFrame, EventStatus, OrderEventFrame, Timeline } from "./timeline.js";

export type { ErrorCode, ErrorFrame, EventStatus, OrderEventFrame } from "./timeline.js";

export type TrackerStatus = "connecting" | "connected" | "reconnecting" | "offline";

/** Every text the element shows, for another language. */
export interface TrackerLabels {
  connecting: string;
  connected: string;
  reconnecting: string;
  offline: string;
  /** Shown while the timeline is empty. */
  empty: string;
  /** Shown when `ws-url` is empty. */
  noEndpoint: string;
  /** The progress bar's accessible name. */
  progress: string;
  /** The timeline's accessible name. */
  timeline: string;
  /** The mark on the final entry. */
  final: string;
  /** The word read after each entry, by status (default: the status itself). */
  statuses: Partial<Record<EventStatus, string>>;
  /** An event's label, by event type (default: the server's label). */
  events: Record<string, string>;
  /** An error's label, by code (default: the server's label). */
  errors: Partial<Record<ErrorCode, string>>;
}

export declare const DEFAULT_LABELS: Readonly<TrackerLabels>;

export interface OrderTrackerEventDetail {
  orderId: string;
  frame: OrderEventFrame;
}
export interface OrderTrackerStatusDetail {
  status: TrackerStatus;
}
export interface OrderTrackerFinalDetail {
  orderId: string;
  /** The final event (status success or cancelled). */
  frame: OrderEventFrame;
}
export interface OrderTrackerErrorDetail {
  /** The server's error code, or "no_token" when getToken failed. */
  code: ErrorCode | "no_token";
  label: string;
  detail: string | null;
  orderId: string | null;
  /** The server's frame (null for "no_token"). */
  frame: ErrorFrame | null;
}

export interface OrderTrackerEventMap extends HTMLElementEventMap {
  "order-tracker-event": CustomEvent<OrderTrackerEventDetail>;
  "order-tracker-status": CustomEvent<OrderTrackerStatusDetail>;
  "order-tracker-final": CustomEvent<OrderTrackerFinalDetail>;
  "order-tracker-error": CustomEvent<OrderTrackerErrorDetail>;
}

/** When a JWT expires (ms since the epoch), or Infinity if it does not say. */
export declare function tokenExpiry(token: string): number;

export declare class OrderTracker extends HTMLElement {
  static readonly observedAttributes: string[];
  /** The `order-id` attribute: setting it tracks that order. */
  get orderId(): string | null;
  set orderId(value: string);
  /** The `ws-url` attribute: the wss:// endpoint (with its stage). */
  get wsUrl(): string | null;
  set wsUrl(value: string);
  /** The `token` attribute: a customer token, for the simple case. */
  get token(): string | null;
  set token(value: string);
  /** Asked for a token at connect, and before a reconnect when it is about to expire or the last
   * handshake failed. Wins over `token`. */
  get getToken(): (() => Promise<string> | string) | null;
  set getToken(fetchToken: (() => Promise<string> | string) | null);
  get labels(): TrackerLabels;
  set labels(labels: Partial<TrackerLabels>);
  readonly timeline: Timeline;
  readonly socket: ReconnectingSocket | null;
  readonly status: TrackerStatus | null;
  /** Track `orderId` (again, if it is the current one): the previous tracking ends. */
  track(orderId: string): void;
  addEventListener<K extends keyof OrderTrackerEventMap>(
    type: K,
    listener: (this: OrderTracker, event: OrderTrackerEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | AddEventListenerOptions): void;
  removeEventListener<K extends keyof OrderTrackerEventMap>(
    type: K,
    listener: (this: OrderTracker, event: OrderTrackerEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(type: string, listener: EventListenerOrEventListenerObject, options?: boolean | EventListenerOptions): void;
}

declare global {
  interface HTMLElementTagNameMap {
    "order-tracker": OrderTracker;
  }
}
