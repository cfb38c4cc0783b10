// Reconnection delays: exponential backoff with full jitter ("Exponential Backoff And Jitter", AWS
// Architecture Blog): a uniform random delay in [0, min(cap, base * 2^attempt)).

export const DEFAULT_BACKOFF = Object.freeze({ baseMs: 500, capMs: 15000 });

export function backoffCeiling(attempt, { baseMs, capMs } = DEFAULT_BACKOFF) {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
}

export function backoffDelay(attempt, options = DEFAULT_BACKOFF, random = Math.random) {
  return Math.floor(random() * backoffCeiling(attempt, options));
}
