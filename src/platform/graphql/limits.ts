import type { IncomingMessage, ServerResponse } from "node:http";
import type { Plugin } from "graphql-yoga";
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  visit,
  type DocumentNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import { withoutSuggestions } from "./errors.ts";
import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";

export interface QueryLimits {
  maxDepth: number;
  maxAliases: number;
  maxDirectives: number;
  maxTokens: number;
  maxCost: number;
  introspection: boolean;
  /** How often one response name may be selected in one selection set (fragments expanded). */
  maxRepeatedFields?: number;
  /** Field selections in one document (every unknown one costs a suggestion search). */
  maxFields?: number;
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
    useRepeatedFieldLimit(limits.maxRepeatedFields ?? 5, limits.maxFields ?? 300),
    // Browsers may send "simple" requests cross-site without a preflight; those must carry this
    // header (GraphiQL and graphql-ws clients are unaffected: JSON POSTs are never simple).
    useCSRFPrevention({ requestHeaders: ["x-graphql-csrf"] }),
  ];
  if (!limits.introspection) plugins.push(useNoIntrospection(), useNoSuggestions());
  return plugins;
}

/**
 * GraphQL's OverlappingFieldsCanBeMerged rule compares every pair of fields sharing a response name
 * in a selection set: a 7.5 KB document repeating one field (directly or through inline fragments)
 * cost ~0.35 s to validate, under every other limit. Refused here, before validation runs, in one
 * linear pass: no response name may be selected more than `max` times in one selection set.
 */
function useRepeatedFieldLimit(max: number, maxFields: number): Plugin {
  const refusals = new WeakMap<DocumentNode, string | null>();
  return {
    onValidate: ({ params, setResult }) => {
      // Per document: the parser cache hands out the same object for the same text.
      let refusal = refusals.get(params.documentAST);
      if (refusal === undefined) refusals.set(params.documentAST, (refusal = refusalOf(params.documentAST)));
      if (refusal) setResult([new GraphQLError(refusal, { extensions: { code: "BAD_USER_INPUT" } })]);
    },
  };

  function refusalOf(document: DocumentNode): string | null {
    const fields = fieldCount(document);
    if (fields > maxFields) return `the document selects ${fields} fields; at most ${maxFields}`;
    const repeated = repeatedField(document, max);
    return repeated ? `"${repeated}" is selected more than ${max} times in one selection set; select it once` : null;
  }
}

/** Field selections written in the document (fragments counted once, as written). */
export function fieldCount(document: DocumentNode): number {
  let n = 0;
  visit(document, { Field: () => void n++ });
  return n;
}

/** The first response name selected more than `max` times in one selection set, fragments expanded. */
export function repeatedField(document: DocumentNode, max: number): string | null {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const checked = new Set<SelectionSetNode>();
  const check = (set: SelectionSetNode): string | null => {
    if (checked.has(set)) return null;
    checked.add(set);
    const counts = new Map<string, number>();
    const visited = new Set<string>();
    const nested: SelectionSetNode[] = [];
    const collect = (s: SelectionSetNode): string | null => {
      for (const sel of s.selections) {
        if (sel.kind === Kind.FIELD) {
          const key = sel.alias?.value ?? sel.name.value;
          const n = (counts.get(key) ?? 0) + 1;
          if (n > max) return key;
          counts.set(key, n);
          if (sel.selectionSet) nested.push(sel.selectionSet);
        } else if (sel.kind === Kind.INLINE_FRAGMENT) {
          const found = collect(sel.selectionSet);
          if (found) return found;
        } else if (!visited.has(sel.name.value)) {
          visited.add(sel.name.value);
          const fragment = fragments.get(sel.name.value);
          const found = fragment ? collect(fragment.selectionSet) : null;
          if (found) return found;
        }
      }
      return null;
    };
    const found = collect(set);
    if (found) return found;
    for (const n of nested) {
      const inner = check(n);
      if (inner) return inner;
    }
    return null;
  };
  for (const d of document.definitions) {
    if (d.kind !== Kind.OPERATION_DEFINITION && d.kind !== Kind.FRAGMENT_DEFINITION) continue;
    const found = check(d.selectionSet);
    if (found) return found;
  }
  return null;
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
