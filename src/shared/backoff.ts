/** Exponential backoff with full jitter (AWS architecture blog): spreads retries of many processes. */
export function backoffDelay(attempt: number, baseMs = 100, capMs = 5_000): number {
  return Math.round(Math.random() * Math.min(capMs, baseMs * 2 ** attempt));
}

/** Resolves after `ms`, or at once when the signal aborts (shutdown must not wait out a backoff). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}
