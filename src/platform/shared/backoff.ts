/** Exponential backoff with full jitter (AWS architecture blog): spreads retries of many processes. */
export function backoffDelay(attempt: number, baseMs = 100, capMs = 5_000): number {
  return Math.round(Math.random() * Math.min(capMs, baseMs * 2 ** attempt));
}

/** Runs `task` now, then every `intervalMs` until `signal` aborts; a failed run is reported and the next one still comes. */
export async function repeatEvery(
  intervalMs: number,
  signal: AbortSignal,
  task: () => Promise<unknown>,
  onError: (err: unknown) => void,
): Promise<void> {
  while (!signal.aborted) {
    await task().catch(onError);
    await sleep(intervalMs, signal);
  }
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
