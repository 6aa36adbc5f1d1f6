import type { IncomingMessage, ServerResponse } from "node:http";
import type { Plugin } from "graphql-yoga";
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
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
  if (!limits.introspection) plugins.push(useDisableIntrospection());
  return plugins;
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
        return refuseBody(req, res, 411, "LENGTH_REQUIRED", "send the request body with a Content-Length header");
      if (!/^\d+$/.test(length) || Number(length) > maxBytes) {
        return refuseBody(req, res, 413, "PAYLOAD_TOO_LARGE", `request body larger than ${maxBytes} bytes`);
      }
    }
    next(req, res);
  };
}

/**
 * A refused body is still read and discarded, up to this much and this long, before the connection
 * closes: a client that is still sending (it has not seen the answer yet) then finishes its write
 * and reads the refusal, instead of failing with EPIPE/ECONNRESET mid-body. Beyond either bound the
 * connection is cut. The refusal itself is sent at once.
 */
export const REFUSED_BODY_DRAIN = { maxBytes: 2 * 1024 * 1024, maxMs: 10_000 };

function refuseBody(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string) {
  const body = JSON.stringify({ errors: [{ message, extensions: { code } }] });
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
    connection: "close",
  });
  const declared = Number(req.headers["content-length"] ?? 0);
  if (req.complete || declared > REFUSED_BODY_DRAIN.maxBytes) return void res.end(body);
  // Node closes the socket as soon as the response ends, so it ends once the body is drained.
  res.write(body);
  let seen = 0;
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    req.removeListener("data", onData);
    res.end();
  };
  const onData = (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > REFUSED_BODY_DRAIN.maxBytes) finish();
  };
  const timer = setTimeout(finish, REFUSED_BODY_DRAIN.maxMs);
  req.on("data", onData);
  req.once("end", finish);
  req.once("error", finish);
  req.once("close", finish);
}
