import type { Plugin } from "graphql-yoga";
import {
  GraphQLError,
  Kind,
  TypeInfo,
  visit,
  visitWithTypeInfo,
  type DocumentNode,
  type ExecutionArgs,
  type FieldNode,
  type GraphQLField,
  type ValueNode,
} from "graphql";
import { AppError, badInput } from "../shared/errors.ts";
import { maskError } from "./errors.ts";

/**
 * A field's own check of its `after` / `before` cursors, set as the field extension `validateCursor`
 * (e.g. `extensions: { validateCursor: prismaCursorOf(isUuid) }`): returns why the cursor is not one of
 * this field's, or null. Checked before anything resolves, so a forged cursor never reaches the database.
 */
export type CursorValidator = (cursor: string) => string | null;

/** Cursors of a Pothos prismaConnection on one string column (`GPC:S:<value>`, base64), `value` checked by `isValid`. */
export function prismaCursorOf(isValid: (value: string) => boolean): CursorValidator {
  return (cursor) => {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(cursor)) return "is not a cursor of this list";
    const decoded = Buffer.from(cursor, "base64").toString("utf8");
    if (!decoded.startsWith("GPC:S:") || !isValid(decoded.slice("GPC:S:".length)))
      return "is not a cursor of this list";
    return null;
  };
}

/**
 * Checks every argument of an operation before it executes or subscribes, as one BAD_USER_INPUT naming
 * the argument (`input.items[0].sku`), so bad input never reaches a resolver or the database:
 * - no string anywhere in an argument (literal or variable) may contain a NUL character (Postgres refuses
 *   them in text, and they are never meaningful here);
 * - paging (Relay connection arguments): `first`/`last` not negative, `after` not with `before`, `before`
 *   not with `first`, `after` not with `last`, and cursors the field's `validateCursor` accepts.
 */
export function argumentProblem(
  schema: ExecutionArgs["schema"],
  document: DocumentNode,
  variables: Record<string, unknown> | null | undefined,
): AppError | null {
  const valueOf = (node: ValueNode): unknown => {
    switch (node.kind) {
      case Kind.VARIABLE:
        return variables?.[node.name.value];
      case Kind.LIST:
        return node.values.map(valueOf);
      case Kind.OBJECT:
        return Object.fromEntries(node.fields.map((f) => [f.name.value, valueOf(f.value)]));
      case Kind.NULL:
        return null;
      case Kind.INT:
      case Kind.FLOAT:
        return Number(node.value);
      default:
        return "value" in node ? node.value : undefined;
    }
  };
  for (const { field, node } of argumentSites(schema, document)) {
    const args = new Map(node.arguments!.map((a) => [a.name.value, valueOf(a.value)]));
    for (const [name, value] of args) {
      const nul = findNul(value, name);
      if (nul) return badInput(nul, "must not contain NUL characters");
    }
    const problem = pagingProblem(field, args);
    if (problem) return problem;
  }
  return null;
}

interface ArgumentSite {
  field: GraphQLField<unknown, unknown>;
  node: FieldNode;
}

/** Per document (the parser cache hands out the same object for the same text): its fields that take arguments. */
const sitesByDocument = new WeakMap<DocumentNode, { schema: ExecutionArgs["schema"]; sites: ArgumentSite[] }>();

/** Every field of the document given arguments, in document order, with its definition: found once per document. */
function argumentSites(schema: ExecutionArgs["schema"], document: DocumentNode): ArgumentSite[] {
  const known = sitesByDocument.get(document);
  if (known?.schema === schema) return known.sites;
  const typeInfo = new TypeInfo(schema);
  const sites: ArgumentSite[] = [];
  visit(
    document,
    visitWithTypeInfo(typeInfo, {
      Field(node: FieldNode) {
        const field = typeInfo.getFieldDef();
        if (field && node.arguments?.length) sites.push({ field, node });
      },
    }),
  );
  sitesByDocument.set(document, { schema, sites });
  return sites;
}

function findNul(value: unknown, path: string): string | null {
  if (typeof value === "string") return value.includes("\u0000") ? path : null;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findNul(value[i], `${path}[${i}]`);
      if (found) return found;
    }
    return null;
  }
  if (value && typeof value === "object") {
    for (const [k, v] of Object.entries(value)) {
      const found = findNul(v, `${path}.${k}`);
      if (found) return found;
    }
  }
  return null;
}

function pagingProblem(field: GraphQLField<unknown, unknown>, args: Map<string, unknown>): AppError | null {
  const defined = (name: string) => args.get(name) != null;
  for (const name of ["first", "last"])
    if (field.args.some((a) => a.name === name) && typeof args.get(name) === "number" && (args.get(name) as number) < 0)
      return badInput(name, "must not be negative");
  if (!field.args.some((a) => a.name === "after" || a.name === "before")) return null;
  if (defined("after") && defined("before")) return badInput("before", "cannot be combined with after");
  if (defined("before") && defined("first")) return badInput("first", "cannot be combined with before");
  if (defined("after") && defined("last")) return badInput("last", "cannot be combined with after");
  const validate = field.extensions?.validateCursor as CursorValidator | undefined;
  for (const name of ["after", "before"]) {
    const cursor = args.get(name);
    if (typeof cursor !== "string" || !validate) continue;
    const why = validate(cursor);
    if (why) return badInput(name, why);
  }
  return null;
}

/** argumentProblem as a plugin: HTTP, SSE and graphql-ws, queries, mutations and subscriptions alike. */
export function useArgumentChecks(): Plugin {
  const check = (args: ExecutionArgs, stop: (result: { errors: GraphQLError[] }) => void) => {
    const problem = argumentProblem(args.schema, args.document, args.variableValues as Record<string, unknown>);
    if (problem) stop({ errors: [maskError(problem, problem.message) as GraphQLError] });
  };
  return {
    onExecute: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
    onSubscribe: ({ args, setResultAndStopExecution }) => check(args, setResultAndStopExecution),
  };
}
