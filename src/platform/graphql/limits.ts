import type { IncomingMessage, ServerResponse } from "node:http";
import type { Plugin } from "graphql-yoga";
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { NoSchemaIntrospectionCustomRule, type GraphQLError } from "graphql";
import { withoutSuggestions } from "./errors.ts";
import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
  maxCost: number;
  introspection: boolean;
}

/**
 * What a query may cost before anything runs: depth, aliases, directives, tokens (checked while
 * parsing, so a huge document is refused cheaply) and an estimated cost. The same plugins guard
 * HTTP, SSE and WebSocket operations (graphql-ws goes through Yoga's parse and validate too).
 */
export function queryLimitPlugins(limits: QueryLimits): Plugin[] {
  const plugins: Plugin[] = [
    EnvelopArmorPlugin({
      maxDepth: { n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: true },
      maxAliases: { n: limits.maxAliases },
      maxDirectives: { n: limits.maxDirectives },
      maxTokens: { n: limits.maxTokens },
      costLimit: { maxCost: limits.maxCost, ignoreIntrospection: true, flattenFragments: true },
      // "Did you mean …?" hints map the schema for someone who may not introspect it.
      blockFieldSuggestion: { enabled: !limits.introspection },
    }) as Plugin,
    // Browsers may send "simple" requests cross-site without a preflight; those must carry this
    // header (GraphiQL and graphql-ws clients are unaffected: JSON POSTs are never simple).
    useCSRFPrevention({ requestHeaders: ["x-graphql-csrf"] }),
  ];
  if (!limits.introspection) plugins.push(useNoIntrospection(), useNoSuggestions());
  return plugins;
}

/**
 * No `__schema` / `__type` on any transport. Yoga's useDisableIntrospection marks HTTP requests in
 * onRequestParse, which graphql-ws operations never pass through: they were answered in full.
 */
function useNoIntrospection(): Plugin {
  return { onValidate: ({ addValidationRule }) => addValidationRule(NoSchemaIntrospectionCustomRule) };
}

/**
 * No "Did you mean …?" in any error: validation (fields, arguments, enum values, input fields, types)
 * and variable coercion at execution. graphql-armor's blockFieldSuggestion covers fields only.
 */
function useNoSuggestions(): Plugin {
  const clean = (errors: readonly Error[]) => errors.map((e) => withoutSuggestions(e) as GraphQLError);
  const isAsyncIterable = (value: object): value is AsyncIterable<unknown> => Symbol.asyncIterator in value;
  return {
    onValidate:
      () =>
      ({ result, setResult }) => {
        if (result.length) setResult(clean(result));
      },
    onExecute: () => ({
      onExecuteDone: ({ result, setResult }) => {
        if (!isAsyncIterable(result) && result.errors?.length) setResult({ ...result, errors: clean(result.errors) });
      },
    }),
    onSubscribe: () => ({
      onSubscribeResult: ({ result, setResult }) => {
        if (!isAsyncIterable(result) && result.errors?.length) setResult({ ...result, errors: clean(result.errors) });
      },
    }),
  };
}

/**
 * Refuses request bodies before Yoga reads them: over the limit → 413; a POST without
 * Content-Length (chunked) → 411, since its size could only be learned by reading it.
 */
export function bodyLimit(maxBytes: number, next: (req: IncomingMessage, res: ServerResponse) => void) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (req.method === "POST" || req.method === "PUT" || req.method === "PATCH") {
      const length = req.headers["content-length"];
      if (length === undefined)
        return refuseBody(res, 411, "LENGTH_REQUIRED", "send the request body with a Content-Length header");
      if (!/^\d+$/.test(length) || Number(length) > maxBytes) {
        return refuseBody(res, 413, "PAYLOAD_TOO_LARGE", `request body larger than ${maxBytes} bytes`);
      }
    }
    next(req, res);
  };
}

function refuseBody(res: ServerResponse, status: number, code: string, message: string) {
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", connection: "close" });
  res.end(JSON.stringify({ errors: [{ message, extensions: { code } }] }));
}
