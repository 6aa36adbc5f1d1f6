import { GraphQLError } from "graphql";
import { PothosValidationError } from "@pothos/core";
import { AppError } from "../shared/errors.ts";
import { isInfrastructureError } from "../shared/infrastructure-errors.ts";

/**
 * Error policy for clients: AppErrors keep their message and get a code (and the offending field);
 * GraphQL's own errors (syntax, validation, variable types) pass through; everything else is
 * masked: it was already logged with the trace id by the logging plugin.
 */
export function maskError(error: unknown, message: string): Error {
  const original = error instanceof GraphQLError ? error.originalError : error;
  if (original instanceof AppError) {
    const { field, issues, extensions } = original.details;
    return new GraphQLError(original.message, {
      nodes: error instanceof GraphQLError ? error.nodes : undefined,
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: original.code, ...(field ? { field } : {}), ...(issues ? { issues } : {}), ...extensions },
    });
  }
  if (original instanceof PothosValidationError) {
    // Pothos refusing arguments it could not use (paging, cursors): useArgumentChecks catches the known
    // cases first and names the argument; anything it misses is still the client's mistake, not ours.
    return new GraphQLError(original.message.slice(0, 200), {
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: "BAD_USER_INPUT" },
    });
  }
  if (isInfrastructureError(original)) {
    return new GraphQLError("The service is temporarily unavailable; please retry shortly.", {
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: "SERVICE_UNAVAILABLE" },
    });
  }
  if (error instanceof GraphQLError && (!error.originalError || !error.path)) {
    // Errors GraphQL or Yoga raised themselves: bad JSON, syntax, validation, variable coercion,
    // limits (no path: no resolver ran). The client's mistake: BAD_USER_INPUT unless a more precise
    // code was set (RATE_LIMITED, LIMIT_EXCEEDED…); never the underlying error object.
    const { originalError: _hidden, code, ...extensions } = error.extensions as Record<string, unknown>;
    // A request that is not a well-formed GraphQL-over-HTTP request (the body is not JSON, not an
    // object…: Yoga's BAD_REQUEST) is HTTP 400 whatever the client accepts; Yoga marks it `spec`, which
    // would answer 200 to `accept: application/json`.
    if (code === "BAD_REQUEST" && (extensions.http as { status?: number } | undefined)?.status === 400)
      extensions.http = { status: 400 };
    return new GraphQLError(error.message, {
      nodes: error.nodes,
      path: error.path,
      extensions: {
        ...extensions,
        code: typeof code === "string" && !GENERIC_CODES.has(code) ? code : "BAD_USER_INPUT",
      },
    });
  }
  return new GraphQLError(message, {
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: "INTERNAL_SERVER_ERROR" },
  });
}

/**
 * The error without its "Did you mean …?" hint (fields, arguments, enum values, input fields, types):
 * in production those hints map the schema for someone who may not introspect it.
 */
export function withoutSuggestions(error: Error): Error {
  if (!/did you mean/i.test(error.message)) return error;
  const message = error.message.replace(/\s*Did you mean\b[\s\S]*$/i, "");
  if (!(error instanceof GraphQLError)) return new Error(message);
  return new GraphQLError(message, {
    nodes: error.nodes,
    path: error.path,
    extensions: error.extensions,
  });
}

/** Yoga's and GraphQL's own codes for "the request is wrong": reported as BAD_USER_INPUT. */
const GENERIC_CODES = new Set([
  "BAD_REQUEST",
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "OPERATION_RESOLUTION_FAILURE",
  "BAD_USER_INPUT",
]);

export const isExpectedError = (err: unknown) => {
  const original = err instanceof GraphQLError ? err.originalError : err;
  // GraphQL's own errors (variable coercion wraps one in another) are the client's, not ours.
  return (
    original === undefined ||
    original instanceof AppError ||
    original instanceof GraphQLError ||
    original instanceof PothosValidationError
  );
};
