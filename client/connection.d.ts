// Types of connection.js: a WebSocket that stays connected.

export type ConnectionStatus = "connecting" | "connected" | "reconnecting" | "disconnected";

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(id: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(id: unknown): void;
}

export interface ConnectionOptions {
  /** Backoff before the n-th reconnect: uniform in [0, min(capMs, baseMs × 2^n)). */
  baseMs: number;
  capMs: number;
  /** A `ping` this often (API Gateway closes a connection idle for 10 minutes). */
  heartbeatMs: number;
  /** The connection is replaced after this long (API Gateway's limit is 2 hours). */
  maxLifetimeMs: number;
  /** A connection open this long resets the backoff. */
  stableAfterMs: number;
}

export interface ReconnectingSocketInit extends Partial<ConnectionOptions> {
  WebSocketImpl?: new (url: string) => WebSocket;
  timers?: Timers;
  random?: () => number;
  /** Each frame the server sends, parsed (frames that are not JSON are dropped). */
  onMessage?: (frame: unknown) => void;
  /** A connection opened (the first, or one after a drop): resume what was tracked. */
  onOpen?: () => void;
  onStatus?: (status: ConnectionStatus) => void;
}

/** The endpoint, or a function asked before every attempt (`handshakeFailed`: the previous attempt
 * closed without opening, as a refused token does). */
export type EndpointSource = string | ((attempt: { handshakeFailed: boolean }) => string | Promise<string>);

export declare const DEFAULTS: Readonly<ConnectionOptions>;

export declare class ReconnectingSocket {
  constructor(url: EndpointSource, init?: ReconnectingSocketInit);
  readonly status: ConnectionStatus | null;
  /** Every reconnect delay drawn, in ms. */
  readonly delays: number[];
  start(): this;
  /** Sends `message` as JSON; false when not connected. */
  send(message: object): boolean;
  close(): void;
  /** The browser went offline or online. */
  setOffline(offline: boolean): void;
}
