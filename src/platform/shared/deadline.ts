/** `p`, or a rejection naming `what` once `ms` have passed without an answer (the timer never holds the process open). */
export function withDeadline<T>(ms: number, what: string, p: Promise<T>): Promise<T> {
  return Promise.race([
    p,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms).unref(),
    ),
  ]);
}
