/**
 * Raw fan-out baseline for `fanout` (started by bench/fanout.ts as a child process): the least a
 * server can do for the same load. Plain `ws` speaking just enough graphql-transport-ws
 * (connection_init/ack, ping/pong, subscribe, complete), one XREAD BLOCK loop on the same stream
 * the app's live hub reads, subscribers in a Map by customer, and per entry one JSON.parse and one
 * pre-serialized payload, spliced into each subscriber's `next` message. No GraphQL execution, no
 * validation, no buffers, no resume.
 *
 * Env: PORT, HOST, REDIS_URL, STREAM_KEY. GET /ready answers 200 once the reader is pinned.
 */
import { createServer } from "node:http";
import { WebSocketServer, type WebSocket } from "ws";
import { Redis } from "ioredis";

const key = process.env.STREAM_KEY!;
const redis = new Redis(process.env.REDIS_URL ?? "redis://127.0.0.1:6379");
const byCustomer = new Map<string, Set<{ ws: WebSocket; id: string }>>();
let ready = false;

const server = createServer((req, res) => {
  res.writeHead(req.url === "/ready" && ready ? 200 : 503).end();
});
const wss = new WebSocketServer({ server, path: "/graphql", perMessageDeflate: false });
wss.on("connection", (ws) => {
  const subs = new Map<string, { customer: string; entry: { ws: WebSocket; id: string } }>();
  ws.on("message", (data) => {
    let m: { type: string; id?: string; payload?: { variables?: { c?: string } } };
    try {
      m = JSON.parse(String(data));
    } catch {
      return ws.close(4400, "bad message");
    }
    if (m.type === "connection_init") ws.send('{"type":"connection_ack"}');
    else if (m.type === "ping") ws.send('{"type":"pong"}');
    else if (m.type === "subscribe" && m.id) {
      const customer = `customer:${m.payload?.variables?.c ?? ""}`;
      const entry = { ws, id: m.id };
      subs.set(m.id, { customer, entry });
      let set = byCustomer.get(customer);
      if (!set) byCustomer.set(customer, (set = new Set()));
      set.add(entry);
    } else if (m.type === "complete" && m.id) {
      const sub = subs.get(m.id);
      if (sub) byCustomer.get(sub.customer)?.delete(sub.entry);
      subs.delete(m.id);
    }
  });
  ws.on("close", () => {
    for (const sub of subs.values()) byCustomer.get(sub.customer)?.delete(sub.entry);
  });
});

async function read(): Promise<void> {
  const last = (await redis.xrevrange(key, "+", "-", "COUNT", 1))[0];
  let lastId = last?.[0] ?? "0-0";
  ready = true;
  for (;;) {
    const reply = (await redis.xread("COUNT", 500, "BLOCK", 5000, "STREAMS", key, lastId)) as
      [string, [string, string[]][]][] | null;
    for (const [id, fields] of reply?.[0]?.[1] ?? []) {
      lastId = id;
      let keys = "";
      let env = "";
      for (let i = 0; i < fields.length - 1; i += 2) {
        if (fields[i] === "keys") keys = fields[i + 1]!;
        else if (fields[i] === "env") env = fields[i + 1]!;
      }
      const customer = keys.split(" ").find((k) => k.startsWith("customer:"));
      const subs = customer ? byCustomer.get(customer) : undefined;
      if (!subs?.size) continue;
      const e = JSON.parse(env) as { eventId: string; occurredAt: string; payload: { totalCents: number } };
      const payload = JSON.stringify({
        data: { orderEvents: { eventId: e.eventId, occurredAt: e.occurredAt, totalCents: e.payload.totalCents } },
      });
      for (const s of subs) s.ws.send(`{"id":${JSON.stringify(s.id)},"type":"next","payload":${payload}}`);
    }
  }
}

server.listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1", () => {
  read().catch((err) => {
    console.error(err);
    process.exit(1);
  });
});
process.on("SIGTERM", () => process.exit(0));
