import { GraphQLError } from "graphql";
import { AppError } from "../errors.ts";
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
  if (isInfrastructureError(original)) {
    return new GraphQLError("The service is temporarily unavailable; please retry shortly.", {
      path: error instanceof GraphQLError ? error.path : undefined,
      extensions: { code: "SERVICE_UNAVAILABLE" },
    });
  }
  if (error instanceof GraphQLError && (!error.originalError || !error.path)) {
    // Errors GraphQL raised itself: syntax, validation, variable coercion (no path: no resolver ran).
    return new GraphQLError(error.message, {
      nodes: error.nodes,
      path: error.path,
      extensions: { code: "BAD_USER_INPUT", ...error.extensions },
    });
  }
  return new GraphQLError(message, {
    path: error instanceof GraphQLError ? error.path : undefined,
    extensions: { code: "INTERNAL_SERVER_ERROR" },
  });
}


export const isExpectedError = (err: unknown) => {
  const original = err instanceof GraphQLError ? err.originalError : err;
  return original === undefined || original instanceof AppError;
};
