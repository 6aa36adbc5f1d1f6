import { createServer, type Server } from "node:http";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";
import { collect, wsClient } from "../support/graphql-clients.ts";
import { ORDER_EVENTS, placeOrder } from "../support/documents.ts";
import { spawnRole, type AppProcess } from "../support/processes.ts";
import { waitFor } from "../support/wait.ts";

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
}

/** A stand-in OTLP/HTTP collector on loopback: keeps every exported span (JSON encoding). */
function fakeCollector() {
  const spans: OtlpSpan[] = [];
  const resources: Record<string, unknown>[] = [];
  const server: Server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (c: string) => (body += c));
    req.on("end", () => {
      if (req.url === "/v1/traces") {
        const payload = JSON.parse(body) as {
          resourceSpans: {
            resource: { attributes: { key: string; value: { stringValue?: string } }[] };
            scopeSpans: { spans: OtlpSpan[] }[];
          }[];
        };
        for (const rs of payload.resourceSpans) {
          resources.push(Object.fromEntries(rs.resource.attributes.map((a) => [a.key, a.value.stringValue])));
          for (const ss of rs.scopeSpans) spans.push(...ss.spans);
        }
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  return {
    spans,
    resources,
    listen: () =>
      new Promise<number>((resolve) =>
        server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)),
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe("span export over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set", () => {
  let env: TestEnv;
  let app: AppProcess;
  const collector = fakeCollector();

  beforeAll(async () => {
    env = await createTestEnv("obs-otel");
    const port = await collector.listen();
    app = spawnRole(env, "api,relay,inventory,orders", {
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${port}`,
      OTEL_SERVICE_NAME: "gateway-under-test",
    });
    await waitFor(() => app.logs.find((l) => l.msg === "started"), { timeoutMs: 60_000, what: "app start" });
  }, 120_000);

  afterAll(async () => {
    await app?.stop();
    await collector.close();
  });

  it("exports one connected trace: request → outbox write → relay → consumers → live delivery", async () => {
    const port = app.logs.find((l) => l.msg === "started")!.port as number;
    const traceId = randomBytes(16).toString("hex");
    const callerSpan = randomBytes(8).toString("hex");
    const client = wsClient(port);
    const sub = collect(client, ORDER_EVENTS, { customerId: "otel" });
    await waitFor(() => app.logs.some((l) => l.msg === "subscription started"), { what: "subscription" });
    await placeOrder(
      port,
      { customerId: "otel", items: [{ sku: "SKU-003", quantity: 1 }] },
      { headers: { traceparent: `00-${traceId}-${callerSpan}-01` } },
    );
    await sub.until(2);
    client.dispose();
    // Graceful stop flushes the batch span processor.
    expect(await app.stop()).toBe(0);

    const spans = collector.spans.filter((s) => s.traceId === traceId);
    const byName = (name: string) => spans.filter((s) => s.name === name);
    const one = (name: string) => {
      const found = byName(name);
      expect(found, name).toHaveLength(1);
      return found[0]!;
    };
    const http = one("POST /graphql");
    expect(http.parentSpanId).toBe(callerSpan);
    const published = byName("relay publish orders");
    expect(published.length).toBe(2); // OrderCreated, OrderConfirmed
    const reserve = one("inventory process OrderCreated");
    expect(reserve.parentSpanId).toBe(http.spanId); // OrderCreated's traceparent is the request span
    const confirm = one("orders process StockReserved");
    expect(confirm.parentSpanId).toBe(reserve.spanId); // StockReserved was emitted inside the inventory span
    expect(one("relay publish inventory").parentSpanId).toBe(reserve.spanId);
    expect(one("live deliver OrderCreated").parentSpanId).toBe(http.spanId);
    expect(one("live deliver OrderConfirmed").parentSpanId).toBe(confirm.spanId);
    // Three outbox writes: in the request's transaction and in each consumer's, children of those spans.
    expect(
      spans
        .filter((s) => s.name === "outbox write")
        .map((s) => s.parentSpanId)
        .sort(),
    ).toEqual([http.spanId, reserve.spanId, confirm.spanId].sort());
    expect(collector.resources[0]).toMatchObject({ "service.name": "gateway-under-test" });
  }, 60_000);
});
