/**
 * Property-based fuzzing of the whole API (issue 16): operations derived from the schema
 * (test/support/schema-fuzz.ts), hostile values and mutated documents, sent over HTTP and graphql-ws
 * as anonymous, two customers and an admin, to one real api process. For every answer: no 5xx, no
 * INTERNAL_SERVER_ERROR (nor SERVICE_UNAVAILABLE: nothing is down), nothing internal in a message, and
 * customer A never sees customer B's orders or events (nor B A's). Afterwards the process is healthy
 * and logged no error.
 *
 * A fixed seed and FUZZ_RUNS cases (default 3,000) run in `npm test`; a long run:
 *   FUZZ_RUNS=100000 FUZZ_SEED=123 npx vitest run test/integration/fuzz.test.ts
 * (FUZZ_SEED=random picks one). The seed is printed; a failure prints its batch of cases (FUZZ_SHRINK=true
 * shrinks it to the smallest failing one first, which takes a while against a live server).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import { buildSchema } from "graphql";
import { readFileSync } from "node:fs";
import type { Client } from "graphql-ws";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { spawnRole, type AppProcess } from "../support/processes.ts";
import { freePort } from "../support/private-redis.ts";
import { waitFor } from "../support/wait.ts";
import { ADMIN_TOKEN, bearer, customerToken, tokenFor } from "../support/auth.ts";
import { collect, gql, wsClient, type GraphQLResponse } from "../support/graphql-clients.ts";
import { ORDER_EVENTS, ORDERS, ORDER_HISTORY, placeOrder } from "../support/documents.ts";
import { operations, type FuzzOperation } from "../support/schema-fuzz.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 3_000);
const SEED =
  process.env.FUZZ_SEED === "random"
    ? Math.floor(Math.random() * 2 ** 31)
    : Number(process.env.FUZZ_SEED ?? 20_261_202);
/** Cases sent together (in parallel) per property run. */
const BATCH = 32;
/** How long a graphql-ws subscription is watched for its first answer before it is closed. */
const WS_WATCH_MS = 150;

const ALICE = "fuzz-alice";
const BOB = "fuzz-bob";
type Identity = "anonymous" | "alice" | "bob" | "admin";
type Transport = "http" | "ws";

interface Case {
  op: FuzzOperation;
  as: Identity;
  over: Transport;
}

let env: TestEnv;
let api: AppProcess;
let port: number;
const tokens: Record<Exclude<Identity, "anonymous">, string> = { alice: "", bob: "", admin: ADMIN_TOKEN };
const clients = new Map<Identity, Client>();
/** Order ids per customer, seeded before the run: the other customer must never see them. */
const ownOrders: Record<"alice" | "bob", string[]> = { alice: [], bob: [] };
const codes = new Map<string, number>();
const perRoot = new Map<string, number>();
let sent = 0;

/** What a message must never contain: a stack frame, SQL, a file path, Prisma, a JS parse error. */
const INTERNAL = [
  /\n\s+at\s/,
  /\bat [\w.<>]+ \(/,
  /\/(?:work|src|node_modules|usr|home)\//,
  /\.(?:ts|js|mjs|cjs):\d+/,
  /prisma/i,
  /\b(?:SELECT|INSERT INTO|UPDATE|DELETE FROM)\b.*\b(?:FROM|VALUES|SET|WHERE)\b/,
  /\b(?:relation|column) "[^"]+"/,
  /ECONN|ETIMEDOUT|EPIPE/,
  /\bUnexpected\b/,
  /TypeError|ReferenceError|RangeError|SyntaxError|Cannot read propert/,
];
/** graphql-js's own syntax errors ("Syntax Error: Unexpected Name …") describe the client's document. */
const isSyntaxError = (message: string) => message.startsWith("Syntax Error:");

beforeAll(async () => {
  env = await createTestEnv("fuzz");
  port = await freePort();
  api = spawnRole(env, "api,relay", {
    PORT: String(port),
    // Each identity's first 30 mutations a minute run; the rest meet the limiter (RATE_LIMITED).
    RATE_LIMIT_MUTATIONS: "30",
    RATE_LIMIT_WINDOW_MS: "60000",
  });
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok, {
    timeoutMs: 60_000,
    what: "api up",
  });
  tokens.alice = await customerToken(ALICE);
  tokens.bob = await customerToken(BOB);
  for (const who of ["alice", "bob"] as const)
    for (let i = 0; i < 3; i++)
      ownOrders[who].push(
        (await placeOrder(port, { items: [{ sku: "SKU-001", quantity: 1 }] }, { headers: bearer(tokens[who]) })).order
          .id,
      );
  for (const who of ["alice", "bob", "admin"] as const)
    clients.set(who, wsClient(port, { authorization: `Bearer ${tokens[who]}` }));
}, 120_000);

afterAll(async () => {
  for (const client of clients.values()) await client.dispose();
  await api?.stop();
});

/** Values from the running system that get past shape checks: ids, skus, cursors, customers. */
async function knownValues(): Promise<string[]> {
  const orders = await gql(port, ORDERS, { first: 10 });
  const cursors = orders.data?.orders.edges.map((e) => e.cursor) ?? [];
  const history = await gql(port, ORDER_HISTORY, { orderId: ownOrders.bob[0]! });
  const streamCursors = history.data?.orderHistory.map((e) => e.cursor) ?? [];
  return [
    "SKU-001",
    "SKU-002",
    "SKU-003",
    ALICE,
    BOB,
    "test-admin",
    ...ownOrders.alice,
    ...ownOrders.bob,
    ...cursors,
    ...streamCursors,
  ];
}

/** The answers one case got: HTTP responses or graphql-ws messages (and close/transport errors). */
async function send(c: Case): Promise<{ status?: number; results: GraphQLResponse[]; transportError?: string }> {
  if (c.over === "http" || c.as === "anonymous") {
    const headers: Record<string, string> =
      c.as === "anonymous" ? { authorization: "" } : { authorization: `Bearer ${tokens[c.as]}` };
    const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json",
        ...(headers.authorization ? headers : {}),
      },
      body: JSON.stringify({ query: c.op.query, variables: c.op.variables, operationName: c.op.operationName }),
    });
    const text = await res.text();
    // A subscription asked for without accepting text/event-stream: refused as Not Acceptable, no body.
    if (res.status === 406 && text === "")
      return { status: res.status, results: [{ errors: [{ message: "", extensions: { code: "HTTP_406" } }] }] };
    let body: GraphQLResponse | undefined;
    try {
      body = JSON.parse(text) as GraphQLResponse;
    } catch {
      return { status: res.status, results: [], transportError: `HTTP ${res.status}, not JSON: ${text.slice(0, 200)}` };
    }
    return { status: res.status, results: [body] };
  }
  const client = clients.get(c.as)!;
  const sub = collect(client, c.op.query, c.op.variables);
  // A subscription that is set up stays open: watch it for a moment, then close it.
  await waitFor(() => sub.completed || sub.error !== undefined || sub.received.length > 0, {
    timeoutMs: WS_WATCH_MS,
    intervalMs: 10,
  }).catch(() => {});
  sub.dispose();
  const error = sub.error;
  if (Array.isArray(error)) return { results: [{ errors: error }] };
  return {
    results: sub.received,
    transportError: error === undefined ? undefined : `ws error: ${String((error as Error).message ?? error)}`,
  };
}

const describeCase = (c: Case) =>
  `${c.as} over ${c.over}: ${c.op.query.slice(0, 600)} variables ${JSON.stringify(c.op.variables ?? {}).slice(0, 400)}`;

/** Every invariant for one case's answers. */
function check(c: Case, answer: Awaited<ReturnType<typeof send>>) {
  const where = describeCase(c);
  expect(answer.transportError, where).toBeUndefined();
  if (answer.status !== undefined) expect(answer.status, where).toBeLessThan(500);
  const request = `${c.op.query} ${JSON.stringify(c.op.variables ?? {})}`;
  for (const result of answer.results) {
    for (const error of result.errors ?? []) {
      const code = String(error.extensions?.code ?? "NONE");
      codes.set(code, (codes.get(code) ?? 0) + 1);
      expect(code, `${where}\n→ ${error.message}`).not.toBe("INTERNAL_SERVER_ERROR");
      expect(code, `${where}\n→ ${error.message}`).not.toBe("SERVICE_UNAVAILABLE");
      expect(code, `${where}\n→ an error without a code: ${error.message}`).not.toBe("NONE");
      for (const pattern of INTERNAL) {
        if (pattern.source.includes("Unexpected") && isSyntaxError(error.message)) continue;
        expect(error.message, `${where}\n→ matches ${pattern}`).not.toMatch(pattern);
      }
    }
    if (!result.errors?.length) codes.set("OK", (codes.get("OK") ?? 0) + 1);
    // No customer sees the other's orders: not in data, and not in an error unless it sent the id itself.
    if (c.as === "alice" || c.as === "bob") {
      const other = c.as === "alice" ? "bob" : "alice";
      const data = JSON.stringify(result.data ?? null);
      const errors = JSON.stringify(result.errors ?? []);
      for (const id of [...ownOrders[other], other === "bob" ? BOB : ALICE]) {
        expect(data, `${where}\n→ ${c.as} saw ${id}`).not.toContain(id);
        if (!request.includes(id)) expect(errors, `${where}\n→ ${c.as} saw ${id}`).not.toContain(id);
      }
    }
  }
}

describe("schema-derived fuzzing", () => {
  it(`${RUNS} hostile operations over HTTP and graphql-ws break no invariant (seed ${SEED})`, async () => {
    // Alice's own live feed for the whole run: not one of Bob's events may arrive on it.
    const aliceFeed = collect(clients.get("alice")!, ORDER_EVENTS, {});
    const known = { strings: await knownValues() };
    const schema = buildSchema(readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8"));
    const fuzzCase: fc.Arbitrary<Case> = fc.record({
      op: operations(schema, known),
      as: fc.constantFrom<Identity>("anonymous", "alice", "bob", "admin"),
      over: fc.constantFrom<Transport>("http", "http", "ws"),
    });
    console.log(`fuzz: seed ${SEED}, ${RUNS} cases (replay: FUZZ_SEED=${SEED} FUZZ_RUNS=${RUNS})`);
    const started = performance.now();
    await fc.assert(
      fc.asyncProperty(fc.array(fuzzCase, { minLength: BATCH, maxLength: BATCH }), async (batch) => {
        const answers = await Promise.all(batch.map(send));
        batch.forEach((c, i) => {
          sent++;
          const root = c.op.root.replace(" (mutated)", "");
          perRoot.set(root, (perRoot.get(root) ?? 0) + 1);
          check(c, answers[i]!);
        });
      }),
      { seed: SEED, numRuns: Math.ceil(RUNS / BATCH), endOnFailure: process.env.FUZZ_SHRINK !== "true" },
    );
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(
      `fuzz: ${sent} cases in ${seconds} s; codes ${JSON.stringify(Object.fromEntries([...codes].sort((a, b) => b[1] - a[1])))}; ` +
        `roots ${JSON.stringify(Object.fromEntries(perRoot))}`,
    );
    expect(sent).toBeGreaterThanOrEqual(RUNS);
    expect(codes.get("RATE_LIMITED"), "the limiter was exercised").toBeGreaterThan(0);
    expect(codes.get("OK"), "some operations got through to the resolvers").toBeGreaterThan(0);

    // The feed is live (Alice's own new order arrives on it after Bob's), and carried nothing of Bob's.
    // Placed by an admin of its own (the fuzzed identities may have used up their mutations).
    const closer = bearer(await tokenFor("fuzz-closer", ["admin"]));
    const line = [{ sku: "SKU-002", quantity: 1 }];
    const bobLast = await placeOrder(port, { customerId: BOB, items: line }, { headers: closer });
    const aliceLast = await placeOrder(port, { customerId: ALICE, items: line }, { headers: closer });
    await waitFor(() => aliceFeed.received.some((r) => r.data?.orderEvents.orderId === aliceLast.order.id), {
      timeoutMs: 30_000,
      what: "alice's own event on her feed",
    });
    aliceFeed.dispose();
    for (const r of aliceFeed.received) expect(r.data?.orderEvents.customerId, JSON.stringify(r)).toBe(ALICE);
    expect(JSON.stringify(aliceFeed.received)).not.toContain(bobLast.order.id);
  }, 600_000);

  it("leaves the process healthy, with no error logged", async () => {
    expect((await fetch(`http://127.0.0.1:${port}/health`)).ok).toBe(true);
    expect(api.child.exitCode).toBeNull();
    const errors = api.logs.filter(
      (l) => Number(l.level) >= 50 || /internal error|subscription failed|unhandled/i.test(String(l.msg)),
    );
    expect(errors.map((l) => JSON.stringify(l).slice(0, 600))).toEqual([]);
  });
});
