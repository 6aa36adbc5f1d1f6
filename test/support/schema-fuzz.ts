/**
 * fast-check arbitraries for GraphQL operations derived from a schema: every root field of Query,
 * Mutation and Subscription with its arguments (as literals or variables) and a selection set walked
 * from its return type. Values are valid shapes carrying hostile contents (NUL and control
 * characters, huge and fractional numbers, long and unicode strings), wrong types and nulls; a
 * share of the documents is then mutated token by token (dropped, duplicated, unknown fields, nesting).
 */
import fc from "fast-check";
import {
  GraphQLEnumType,
  GraphQLInputObjectType,
  GraphQLList,
  GraphQLNonNull,
  GraphQLObjectType,
  GraphQLScalarType,
  isAbstractType,
  isInterfaceType,
  isLeafType,
  isObjectType,
  type GraphQLArgument,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from "graphql";

export interface FuzzOperation {
  query: string;
  variables?: Record<string, unknown>;
  operationName?: string;
  /** Which root field it was derived from (for the report), e.g. "Mutation.createOrder". */
  root: string;
}

/** Values from the running system (ids, skus, cursors): they reach past the first checks. */
export interface KnownValues {
  strings: string[];
  /**
   * Well-formed operations with valid values but for an occasional hostile one: they get past
   * validation and coercion into the resolvers (hostile ones mostly stop before).
   */
  gentle?: boolean;
}

const CONTROL = fc.integer({ min: 0, max: 31 }).map((c) => String.fromCharCode(c));

/** Strings a client should never send, and some it should. */
function hostileString(known: KnownValues): fc.Arbitrary<string> {
  const base = fc.constantFrom(...known.strings);
  const spliced = fc
    .tuple(base, fc.nat(), fc.constantFrom("\u0000", "\u0001", "\u001f", "\u007f", "\ud800", "\ufeff", "\u2028"))
    .map(([s, at, c]) => s.slice(0, at % (s.length + 1)) + c + s.slice(at % (s.length + 1)));
  if (known.gentle) return fc.oneof({ weight: 12, arbitrary: base }, spliced, fc.string({ maxLength: 12 }));
  return fc.oneof(
    { weight: 14, arbitrary: base },
    { weight: 2, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
    { weight: 2, arbitrary: fc.string({ unit: CONTROL, minLength: 1, maxLength: 8 }) },
    // A known value with a NUL or control character spliced in: it passes shape checks, not Postgres.
    { weight: 3, arbitrary: spliced },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom("x", "é", "😀", "\u0000", "%", "'", "\\"), fc.integer({ min: 200, max: 6000 }))
        .map(([c, n]) => c.repeat(n)),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        "",
        " ",
        "' OR 1=1 --",
        "'; DROP TABLE orders; --",
        "%",
        "_",
        "%%%",
        "../../../etc/passwd",
        "${process.env}",
        "{}",
        "[]",
        "null",
        "NaN",
        "-1",
        "1e309",
        "0-0",
        "$",
        ">",
        "*",
        "+",
        "-",
        "9999999999999-0",
        "1-18446744073709551616",
        "orders:1-0",
        "inventory:0-0",
        "00000000-0000-0000-0000-000000000000",
        "R1BDOlM6eA==",
        "GPC:S:x",
        "__proto__",
        "constructor",
        "\ud83d",
        "Z̸̡͎̈́a̵l̷g̶o̴",
      ),
    },
  );
}

const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: -2, max: 60 }) },
  fc.integer(),
  fc.double({ noNaN: true }),
  fc.constantFrom(
    0,
    -0,
    0.5,
    1.5,
    -1,
    1,
    50,
    51,
    1000,
    1001,
    100000,
    100001,
    2 ** 31 - 1,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53,
    1e21,
    1e308,
    Number.MIN_VALUE,
  ),
);

/** A value of any JSON type: a wrong type for most arguments. */
const anyJson: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  hostileNumber,
  fc.string({ maxLength: 10 }),
  fc.constant({}),
  fc.constant([]),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.string({ maxLength: 5 }), fc.integer()), { maxKeys: 3 }),
);

/** A value for an input type: mostly the right shape, sometimes null, missing or the wrong type. */
export function inputValue(type: GraphQLInputType, known: KnownValues, depth = 0): fc.Arbitrary<unknown> {
  const wrong = fc.oneof(fc.constant(null), anyJson);
  if (known.gentle) return gentleValue(type, known, depth);
  if (type instanceof GraphQLNonNull)
    return fc.oneof({ weight: 30, arbitrary: inputValue(type.ofType, known, depth) }, wrong);
  const shaped = ((): fc.Arbitrary<unknown> => {
    if (type instanceof GraphQLList) {
      const item = inputValue(type.ofType, known, depth + 1);
      return fc.oneof(
        { weight: 6, arbitrary: fc.array(item, { maxLength: 4 }) },
        { weight: 1, arbitrary: fc.array(item, { minLength: 45, maxLength: 60 }) },
        { weight: 1, arbitrary: item }, // a single value where a list is expected (coerced)
      );
    }
    if (type instanceof GraphQLInputObjectType) {
      if (depth > 4) return fc.constant({});
      const fields = Object.values(type.getFields());
      const record = Object.fromEntries(
        fields.map((f) => [f.name, fc.option(inputValue(f.type, known, depth + 1), { freq: 8, nil: undefined })]),
      );
      return fc
        .tuple(
          fc.record(record),
          fc.option(fc.tuple(fc.constantFrom("extra", "skuu", "__proto__"), anyJson), { freq: 12 }),
        )
        .map(([value, extra]) => {
          const clean = Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined));
          return extra ? { ...clean, [extra[0]]: extra[1] } : clean;
        });
    }
    if (type instanceof GraphQLEnumType) {
      const values = type.getValues().map((v) => v.name);
      return fc.oneof(
        { weight: 15, arbitrary: fc.constantFrom(...values) },
        fc.constantFrom(...values).map((v) => v.toLowerCase()),
        hostileString(known),
      );
    }
    const scalar = type as GraphQLScalarType;
    switch (scalar.name) {
      case "Int":
      case "Float":
        return fc.oneof({ weight: 15, arbitrary: hostileNumber }, hostileString(known), fc.boolean());
      case "Boolean":
        return fc.oneof({ weight: 6, arbitrary: fc.boolean() }, hostileNumber, hostileString(known));
      case "ID":
        return fc.oneof({ weight: 15, arbitrary: hostileString(known) }, hostileNumber);
      default:
        return fc.oneof({ weight: 20, arbitrary: hostileString(known) }, hostileNumber, fc.boolean());
    }
  })();
  return fc.oneof({ weight: 25, arbitrary: shaped }, wrong);
}

/** A valid value for `type` (nulls only where allowed), strings now and then hostile. */
function gentleValue(type: GraphQLInputType, known: KnownValues, depth: number): fc.Arbitrary<unknown> {
  const nullable = !(type instanceof GraphQLNonNull);
  const inner = type instanceof GraphQLNonNull ? type.ofType : type;
  const value = ((): fc.Arbitrary<unknown> => {
    if (inner instanceof GraphQLList)
      return fc.array(gentleValue(inner.ofType, known, depth + 1), { minLength: 1, maxLength: 3 });
    if (inner instanceof GraphQLInputObjectType) {
      if (depth > 4) return fc.constant({});
      const fields = Object.values(inner.getFields());
      return fc
        .record(
          Object.fromEntries(
            fields.map((f) => [
              f.name,
              f.type instanceof GraphQLNonNull
                ? gentleValue(f.type, known, depth + 1)
                : fc.option(gentleValue(f.type, known, depth + 1), { nil: undefined }),
            ]),
          ),
        )
        .map((v) => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)));
    }
    if (inner instanceof GraphQLEnumType) return fc.constantFrom(...inner.getValues().map((v) => v.name));
    switch ((inner as GraphQLScalarType).name) {
      case "Int":
        return fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 1, max: 5 }) }, fc.integer({ min: -1, max: 2_000 }));
      case "Float":
        return fc.double({ min: 0, max: 100, noNaN: true });
      case "Boolean":
        return fc.boolean();
      default:
        return hostileString(known);
    }
  })();
  return nullable ? fc.option(value, { freq: 6, nil: null }) : value;
}

/** A JS value as a GraphQL literal; enum-typed strings print bare when they are names. */
export function literal(value: unknown, type: GraphQLInputType | null): string {
  const named = type instanceof GraphQLNonNull ? type.ofType : type;
  if (value === null || value === undefined) return "null";
  if (Array.isArray(value))
    return `[${value.map((v) => literal(v, named instanceof GraphQLList ? named.ofType : null)).join(", ")}]`;
  if (typeof value === "string") {
    if (named instanceof GraphQLEnumType && /^[A-Za-z_][A-Za-z0-9_]*$/.test(value)) return value;
    return JSON.stringify(value);
  }
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "1e999";
  if (typeof value === "object") {
    const fields = named instanceof GraphQLInputObjectType ? named.getFields() : {};
    const entries = Object.entries(value as Record<string, unknown>).filter(([k]) => /^[A-Za-z_]\w*$/.test(k));
    return `{ ${entries.map(([k, v]) => `${k}: ${literal(v, fields[k]?.type ?? null)}`).join(", ")} }`;
  }
  return String(value);
}

interface Args {
  text: string;
  declarations: string[];
  variables: Record<string, unknown>;
}

/** Arguments of one field: each present (required ones nearly always), as a literal or a variable. */
function argumentsOf(args: readonly GraphQLArgument[], known: KnownValues): fc.Arbitrary<Args> {
  if (!args.length) return fc.constant({ text: "", declarations: [], variables: {} });
  const one = (a: GraphQLArgument) =>
    fc.record({
      present:
        a.type instanceof GraphQLNonNull && known.gentle
          ? fc.constant(true)
          : a.type instanceof GraphQLNonNull
            ? fc.oneof({ weight: 30, arbitrary: fc.constant(true) }, fc.constant(false))
            : fc.boolean(),
      // Unique within a document but for rare collisions (then a duplicate variable: one more bad document).
      suffix: fc.nat(99_999),
      value: inputValue(a.type, known),
      asVariable: fc.boolean(),
      // Sometimes the variable is declared with a type other than the argument's.
      declaredAs: known.gentle
        ? fc.constant(String(a.type))
        : fc.oneof(
            { weight: 25, arbitrary: fc.constant(String(a.type)) },
            fc.constantFrom("String", "String!", "Int", "ID!", "[String]", "CreateOrderInput!", "Nope"),
          ),
    });
  return fc.tuple(...args.map(one)).map((parts) => {
    const pieces: string[] = [];
    const declarations: string[] = [];
    const variables: Record<string, unknown> = {};
    parts.forEach((p, i) => {
      const arg = args[i]!;
      if (!p.present) return;
      if (p.asVariable) {
        const name = `${arg.name}_${p.suffix}`;
        declarations.push(`$${name}: ${p.declaredAs}`);
        if (p.value !== undefined) variables[name] = p.value;
        pieces.push(`${arg.name}: $${name}`);
      } else pieces.push(`${arg.name}: ${literal(p.value, arg.type)}`);
    });
    return { text: pieces.length ? `(${pieces.join(", ")})` : "", declarations, variables };
  });
}

const unwrap = (type: GraphQLOutputType): GraphQLNamedType =>
  type instanceof GraphQLNonNull || type instanceof GraphQLList ? unwrap(type.ofType) : type;

/** A selection set for `type`, 1–4 fields deep at most `depth` (leaves need none). */
function selectionOf(
  schema: GraphQLSchema,
  type: GraphQLNamedType,
  known: KnownValues,
  depth: number,
): fc.Arbitrary<Omit<Args, "text"> & { text: string }> {
  const none = { text: "", declarations: [] as string[], variables: {} };
  if (isLeafType(type)) return fc.constant(none);
  if (isAbstractType(type)) {
    const possible = schema.getPossibleTypes(type);
    const own = isInterfaceType(type) ? fieldsSelection(schema, type, known, depth) : fc.constant(none);
    return fc
      .tuple(
        own,
        fc
          .subarray(possible as GraphQLObjectType[], { maxLength: Math.min(2, possible.length) })
          .chain((types) =>
            fc.tuple(...types.map((t) => fieldsSelection(schema, t, known, depth).map((f) => ({ on: t.name, f })))),
          ),
      )
      .map(([mine, fragments]) => {
        const parts = [mine.text ? mine.text.slice(2, -2) : "", "__typename"];
        for (const { on, f } of fragments) parts.push(`... on ${on} ${f.text}`);
        return {
          text: `{ ${parts.filter(Boolean).join(" ")} }`,
          declarations: [mine, ...fragments.map((x) => x.f)].flatMap((f) => f.declarations),
          variables: Object.assign({}, mine.variables, ...fragments.map((x) => x.f.variables)),
        };
      });
  }
  return fieldsSelection(schema, type as GraphQLObjectType, known, depth);
}

function fieldsSelection(
  schema: GraphQLSchema,
  type: GraphQLObjectType | GraphQLNamedType,
  known: KnownValues,
  depth: number,
): fc.Arbitrary<Args> {
  if (!isObjectType(type) && !isInterfaceType(type)) return fc.constant({ text: "", declarations: [], variables: {} });
  const fields = Object.values(type.getFields());
  const leaves = fields.filter((f) => isLeafType(unwrap(f.type)));
  const usable = depth > 0 ? fields : leaves;
  const pool = usable.length ? usable : fields;
  return fc.subarray(pool, { minLength: 1, maxLength: Math.min(4, pool.length) }).chain((chosen) =>
    fc.tuple(...chosen.map((f) => fieldWith(schema, f, known, depth - 1))).map((parts) => ({
      text: `{ ${parts.map((p) => p.text).join(" ")} }`,
      declarations: parts.flatMap((p) => p.declarations),
      variables: Object.assign({}, ...parts.map((p) => p.variables)),
    })),
  );
}

function fieldWith(
  schema: GraphQLSchema,
  field: GraphQLField<unknown, unknown>,
  known: KnownValues,
  depth: number,
): fc.Arbitrary<Args> {
  return fc
    .tuple(argumentsOf(field.args, known), selectionOf(schema, unwrap(field.type), known, Math.max(depth, 0)))
    .map(([args, selection]) => ({
      text: `${field.name}${args.text} ${selection.text}`.trim(),
      declarations: [...args.declarations, ...selection.declarations],
      variables: { ...args.variables, ...selection.variables },
    }));
}

/** One operation on one root field, sometimes aliased several times or spread through a fragment. */
function rootOperation(schema: GraphQLSchema, known: KnownValues): fc.Arbitrary<FuzzOperation> {
  const roots = (
    [
      ["query", schema.getQueryType()],
      ["mutation", schema.getMutationType()],
      ["subscription", schema.getSubscriptionType()],
    ] as const
  ).flatMap(([keyword, type]) =>
    type ? Object.values(type.getFields()).map((field) => ({ keyword, type, field })) : [],
  );
  return fc
    .record({
      root: fc.constantFrom(...roots),
      copies: fc.oneof({ weight: 8, arbitrary: fc.constant(1) }, fc.integer({ min: 2, max: 4 })),
      shape: fc.constantFrom("plain", "plain", "plain", "named", "fragment", "inline"),
    })
    .chain(({ root, copies, shape }) =>
      fc.array(fieldWith(schema, root.field, known, 3), { minLength: copies, maxLength: copies }).map((fields) => {
        const selection = fields.map((f, i) => (copies > 1 ? `a${i}: ${f.text}` : f.text)).join(" ");
        const declarations = [...new Set(fields.flatMap((f) => f.declarations))];
        const variables = Object.assign({}, ...fields.map((f) => f.variables));
        const vars = declarations.length ? `(${declarations.join(", ")})` : "";
        const name = shape === "plain" ? "" : " Fuzz";
        const body =
          shape === "fragment"
            ? `{ ...F } fragment F on ${root.type.name} { ${selection} }`
            : shape === "inline"
              ? `{ ... on ${root.type.name} { ${selection} } }`
              : `{ ${selection} }`;
        const head = shape === "plain" && !vars && root.keyword === "query" ? "" : `${root.keyword}${name}${vars} `;
        return {
          query: `${head}${body}`,
          variables: Object.keys(variables).length ? variables : undefined,
          ...(shape === "named" ? { operationName: "Fuzz" } : {}),
          root: `${root.type.name}.${root.field.name}`,
        };
      }),
    );
}

const TOKEN = /"(?:[^"\\]|\\.)*"|\.\.\.|[A-Za-z_][A-Za-z0-9_]*|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\$|[{}()[\]:!=@,|&]/g;

/** Token-level damage to a valid document: drop, duplicate, swap, unknown fields, nesting. */
function mutated(op: FuzzOperation): fc.Arbitrary<FuzzOperation> {
  const tokens = op.query.match(TOKEN) ?? [];
  const mutation = fc.oneof(
    fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("duplicate" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("swap" as const), at: fc.nat() }),
    fc.record({
      kind: fc.constant("insert" as const),
      at: fc.nat(),
      token: fc.constantFrom(
        "zz",
        "nope",
        "__schema",
        "__typename",
        "{",
        "}",
        "(",
        ")",
        "$x",
        "...",
        "@skip",
        "!",
        ":",
        "1",
      ),
    }),
    fc.record({ kind: fc.constant("nest" as const), at: fc.nat(), depth: fc.integer({ min: 1, max: 9 }) }),
    fc.record({
      kind: fc.constant("keyword" as const),
      at: fc.nat(),
      token: fc.constantFrom("query", "mutation", "subscription", "fragment", "on"),
    }),
  );
  return fc.array(mutation, { minLength: 1, maxLength: 3 }).map((changes) => {
    const t = [...tokens];
    for (const c of changes) {
      const at = t.length ? c.at % t.length : 0;
      if (c.kind === "drop") t.splice(at, 1);
      else if (c.kind === "duplicate") t.splice(at, 0, t[at] ?? "{");
      else if (c.kind === "swap" && at + 1 < t.length) [t[at], t[at + 1]] = [t[at + 1]!, t[at]!];
      else if (c.kind === "insert" || c.kind === "keyword") t.splice(at, 0, c.token);
      else if (c.kind === "nest") {
        // Wrap the token at `at` (a field, typically) in inline fragments: deep, but within the depth limit.
        const open = Array.from({ length: c.depth }, () => "... {").join(" ");
        t.splice(at, 1, `${open} ${t[at] ?? "__typename"} ${"}".repeat(c.depth)}`);
      }
    }
    return { ...op, query: t.join(" "), root: `${op.root} (mutated)` };
  });
}

/**
 * Operations derived from the schema: well-formed ones with hostile values, well-formed ones with
 * valid values (now and then a hostile string), and mutated documents, about 2 : 1 : 1.
 */
export function operations(schema: GraphQLSchema, known: KnownValues): fc.Arbitrary<FuzzOperation> {
  const valid = rootOperation(schema, { ...known, gentle: false });
  const gentle = rootOperation(schema, { ...known, gentle: true });
  return fc.oneof(
    { weight: 2, arbitrary: valid },
    { weight: 1, arbitrary: gentle },
    { weight: 1, arbitrary: valid.chain(mutated) },
  );
}
