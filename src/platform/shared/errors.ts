import type { z } from "zod";

/**
 * Errors the client is meant to see, each with a stable code. Anything else that escapes a
 * resolver is an internal error: logged with its trace id and masked in the response.
 */
export type ErrorCode =
  | "BAD_USER_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "SERVICE_UNAVAILABLE"
  /** No token, or one that is malformed, forged or expired. */
  | "UNAUTHENTICATED"
  /** A valid token that does not allow this (another customer's data, an admin operation). */
  | "FORBIDDEN"
  /** Too many mutations from this client in the current window; retry after `retryAfterMs`. */
  | "RATE_LIMITED"
  /** A subscription's `after` cursor points before what the stream still holds. */
  | "CURSOR_TOO_OLD"
  /** A subscription's `after` cursor points beyond the end of the stream (`streamEnd`). */
  | "CURSOR_AHEAD"
  /** A subscriber fell too far behind and was cut off; resubscribe with `lastCursor`. */
  | "SLOW_SUBSCRIBER";

export interface FieldIssue {
  field: string;
  message: string;
}

export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: { field?: string; issues?: FieldIssue[]; extensions?: Record<string, unknown> } = {},
  ) {
    super(message);
  }
}

export function badInput(field: string, message: string): AppError {
  return new AppError("BAD_USER_INPUT", `${field}: ${message}`, { field, issues: [{ field, message }] });
}

/** A zod failure as one BAD_USER_INPUT error naming every offending field, e.g. `items[1].quantity`. */
export function fromZodError(error: z.ZodError, root = ""): AppError {
  const issues = error.issues.map((i) => ({
    field: fieldPath([root, ...i.path].filter((p) => p !== "")),
    message: i.message,
  }));
  const first = issues[0] ?? { field: root, message: "invalid input" };
  return new AppError("BAD_USER_INPUT", `${first.field}: ${first.message}`, { field: first.field, issues });
}

function fieldPath(path: PropertyKey[]): string {
  return path.reduce<string>(
    (acc, p) => (typeof p === "number" ? `${acc}[${p}]` : acc ? `${acc}.${String(p)}` : String(p)),
    "",
  );
}
