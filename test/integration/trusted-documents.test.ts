/**
 * Trusted documents: a production api with TRUSTED_DOCUMENTS=true runs the dashboard's allow-listed operations (the
 * manifest `npm run codegen` writes) over HTTP, graphql-ws and SSE, and refuses any other document with a clear
 * error; with the flag off, or outside production, nothing changes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { collect, firstError, gql, wsClient } from "../support/graphql-clients.ts";
import { publishOrders } from "../support/publisher.ts";
import { streamKey } from "../support/streams.ts";
import { waitFor } from "../support/wait.ts";
import { ADMIN_TOKEN } from "../support/auth.ts";
import { CatalogDocument, FeedDocument } from "../../src/dashboard/generated/graphql.ts";
import { requestOf } from "../../src/client/resume-core.ts";
import { subscribeResuming, subscribeResumingSse } from "../../src/client/resuming-subscription.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv("trusted-documents");
});
afterAll(async () => {});

const ARBITRARY = `query Mine { products { sku name } }`;
const catalogHash = () => requestOf(CatalogDocument).extensions!.persistedQuery.sha256Hash;

/** POSTs a raw GraphQL-over-HTTP body as the admin. */
async function post(port: number, body: Record<string, unknown>, accept = "application/graphql-response+json") {
  const res = await fetch(`http://127.0.0.1:${port}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", accept, authorization: `Bearer ${ADMIN_TOKEN}` },
    body: JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

describe("production with TRUSTED_DOCUMENTS=true", () => {
  let port: number;
  beforeAll(async () => {
    port = (await env.start(["api"], { NODE_ENV: "production", TRUSTED_DOCUMENTS: "true" })).port!;
  });

  it("runs an allow-listed hash over HTTP, alone or beside its text (as the dashboard sends it)", async () => {
    const byHash = await post(port, { extensions: { persistedQuery: { version: 1, sha256Hash: catalogHash() } } });
    expect(byHash.status).toBe(200);
    expect(JSON.parse(byHash.text).data.products.length).toBeGreaterThan(0);
    const rawHex = catalogHash().replace(/^sha256:/, ""); // Apollo-style clients send the bare hex digest
    const bare = await post(port, { extensions: { persistedQuery: { version: 1, sha256Hash: rawHex } } });
    expect(JSON.parse(bare.text).data.products.length).toBeGreaterThan(0);
    const both = await post(port, requestOf(CatalogDocument));
    expect(JSON.parse(both.text).data.products.length).toBeGreaterThan(0);
  });

  it("refuses a document of the client's own, and an unknown hash, with a clear error", async () => {
    const own = await gql(port, ARBITRARY);
    expect(own.data ?? null).toBeNull();
    expect(firstError(own)).toMatchObject({
      message: expect.stringContaining("only trusted documents"),
      extensions: { code: "PERSISTED_QUERY_ONLY" },
    });
    const unknown = await post(port, {
      extensions: { persistedQuery: { version: 1, sha256Hash: "sha256:" + "0".repeat(64) } },
    });
    expect(JSON.parse(unknown.text).errors[0]).toMatchObject({
      message: expect.stringContaining("not on the server's allow-list"),
      extensions: { code: "PERSISTED_QUERY_NOT_FOUND" },
    });
    // Text sent beside a hash never runs in its place: the hash decides.
    const smuggled = await post(port, {
      query: ARBITRARY,
      extensions: { persistedQuery: { version: 1, sha256Hash: catalogHash() } },
    });
    expect(Object.keys(JSON.parse(smuggled.text).data.products[0])).toEqual([
      "available",
      "currency",
      "name",
      "priceCents",
      "sku",
    ]);
  });

  it("runs the allow-listed subscription over graphql-ws and SSE, and refuses others on both", async () => {
    const client = wsClient(port);
    const wsCursors: string[] = [];
    const sseCursors: string[] = [];
    const ws = subscribeResuming(client, { query: FeedDocument, onData: (d) => wsCursors.push(d.orderEvents.cursor) });
    const sse = subscribeResumingSse({
      url: `http://127.0.0.1:${port}/graphql`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      query: FeedDocument,
      onData: (d) => sseCursors.push(d.orderEvents.cursor),
    });
    const key = streamKey(env.config.STREAM_PREFIX, "orders");
    // Published until both are listening (a subscription without `after` starts live).
    await waitFor(
      async () => {
        await publishOrders(env.redis, key, 1, "trusted");
        return wsCursors.length > 0 && sseCursors.length > 0;
      },
      { timeoutMs: 20_000, what: "events on both transports" },
    );

    const refused = collect(client, `subscription { orderEvents { cursor } }`);
    await waitFor(() => refused.error || refused.received.length, { what: "the refusal over graphql-ws" });
    expect((refused.error as { extensions: unknown }[])[0]).toMatchObject({
      extensions: { code: "PERSISTED_QUERY_ONLY" },
    });
    const refusedSse = await post(port, { query: `subscription { orderEvents { cursor } }` }, "text/event-stream");
    expect(refusedSse.text).toContain("PERSISTED_QUERY_ONLY");

    ws.dispose();
    sse.dispose();
    await client.dispose();
  });
});

describe("unchanged without it", () => {
  it.each([
    ["production with TRUSTED_DOCUMENTS off", { NODE_ENV: "production" }],
    [
      "development with TRUSTED_DOCUMENTS=true (production only)",
      { NODE_ENV: "development", TRUSTED_DOCUMENTS: "true" },
    ],
  ])("%s: any document runs", async (_name, overrides) => {
    const { port } = await env.start(["api"], overrides);
    const res = await gql(port!, ARBITRARY);
    expect(res.errors).toBeUndefined();
    expect(res.data?.products.length).toBeGreaterThan(0);
  });
});
