import { codeOf, type HttpResponse } from "./graphql-clients.ts";
import { delay } from "./wait.ts";

export interface RetryOptions {
  /** Called before each retry, with what failed. */
  onRetry?: (reason: string) => void;
  /** First delay; it doubles per retry up to maxDelayMs, with jitter so retries do not come in waves. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Gives up (throws) once the request has been failing for this long. */
  giveUpAfterMs?: number;
}

/**
 * Sends a request the way a well-behaved client does through an outage: while the answer is
 * SERVICE_UNAVAILABLE or the request fails on the network, it sends the very same request again
 * (same variables, same idempotency key) after a short, growing delay. Any other answer (data or a
 * different error) is returned for the caller to judge.
 */
export async function untilAvailable<T>(
  send: () => Promise<HttpResponse<T>>,
  { onRetry, baseDelayMs = 50, maxDelayMs = 1_000, giveUpAfterMs = 60_000 }: RetryOptions = {},
): Promise<HttpResponse<T>> {
  const since = Date.now();
  for (let attempt = 0; ; attempt++) {
    let reason: string;
    try {
      const res = await send();
      if (codeOf(res) !== "SERVICE_UNAVAILABLE") return res;
      reason = `SERVICE_UNAVAILABLE: ${res.errors![0]!.message}`;
    } catch (err) {
      reason = `network: ${(err as Error).message}`;
    }
    if (Date.now() - since > giveUpAfterMs)
      throw new Error(`still failing after ${giveUpAfterMs} ms (${attempt + 1} attempts); last: ${reason}`);
    onRetry?.(reason);
    const backoff = Math.min(maxDelayMs, baseDelayMs * 2 ** attempt);
    await delay(backoff / 2 + Math.random() * (backoff / 2));
  }
}
