/**
 * Order flow for `resume` (a child process of bench/resume.ts, never run by hand): createOrder at a
 * steady --rate (open loop, 10 ms ticks), customer `c-<i mod customers>`, each order to the primary
 * api and, when that refuses or drops the connection (it is being killed or is not listening yet),
 * at once to the fallback api — as a load balancer would, so orders keep flowing across the
 * restart. Records every mutation (when it started, where it went, how long it took) so the parent
 * can compare the restarted api's first second with its steady state.
 *
 * Bounded: stops when the parent says stop or goes away, or after `maxSeconds`.
 */
import http from "node:http";

/** createorder's PlaceOrder (bench/createorder-loadgen.ts; not imported: that module starts its own loop on IPC). */
const MUTATION = `mutation PlaceOrder($input: CreateOrderInput!) {
  createOrder(input: $input) { traceId order { id status totalCents currency } }
}`;

export interface OrdersArgs {
  /** Tried first; undefined: every order goes to `fallback`. */
  primary?: string;
  fallback: string;
  rate: number;
  customers: number;
  skus: string[];
  authorization: string;
  maxSeconds: number;
}

/** One mutation: start (ms since epoch), target (0 primary, 1 fallback), latency ms, ok. */
export type Mutation = [startedAt: number, target: 0 | 1, ms: number, ok: boolean];

export type OrdersCommand = { cmd: "start"; args: OrdersArgs } | { cmd: "stop" };
export type OrdersMessage =
  | { kind: "progress"; ok: number; errors: number; failovers: number }
  | { kind: "done"; mutations: Mutation[]; errorSamples: string[] };

const MAX_IN_FLIGHT = 500;

function main(a: OrdersArgs): void {
  const targets = [a.primary, a.fallback].map((u) =>
    u ? { url: new URL(u), agent: new http.Agent({ keepAlive: true, maxSockets: 64 }) } : undefined,
  );
  const mutations: Mutation[] = [];
  const errorSamples: string[] = [];
  let ok = 0;
  let errors = 0;
  let failovers = 0;
  let inFlight = 0;
  let stopped = false;

  /** Resolves "refused" when the connection failed (never reached the app's answer), else the outcome. */
  const post = (target: 0 | 1, payload: string) =>
    new Promise<"ok" | "error" | "refused">((resolve) => {
      const t = targets[target]!;
      const startedAt = Date.now();
      const t0 = performance.now();
      const done = (outcome: "ok" | "error" | "refused", what?: string) => {
        if (outcome !== "refused") mutations.push([startedAt, target, performance.now() - t0, outcome === "ok"]);
        if (what && errorSamples.length < 5) errorSamples.push(what.slice(0, 300));
        resolve(outcome);
      };
      const req = http.request(
        {
          host: t.url.hostname,
          port: t.url.port,
          path: t.url.pathname,
          method: "POST",
          agent: t.agent,
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            authorization: a.authorization,
            "content-length": Buffer.byteLength(payload),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode === 200 && !text.includes('"errors"') && text.includes('"traceId"')) done("ok");
            else done("error", `HTTP ${res.statusCode}: ${text}`);
          });
          res.on("error", () => done("refused"));
        },
      );
      req.on("error", () => done("refused"));
      req.end(payload);
    });

  const order = async (i: number) => {
    const a0 = i % a.skus.length;
    const payload = JSON.stringify({
      query: MUTATION,
      operationName: "PlaceOrder",
      variables: {
        input: {
          customerId: `c-${i % a.customers}`,
          items: [
            { sku: a.skus[a0], quantity: 1 },
            { sku: a.skus[(a0 + 1) % a.skus.length], quantity: 1 },
          ],
        },
      },
    });
    inFlight++;
    let outcome = targets[0] ? await post(0, payload) : ("refused" as const);
    if (outcome === "refused") {
      if (targets[0]) failovers++;
      outcome = await post(1, payload);
    }
    if (outcome === "ok") ok++;
    else errors++;
    inFlight--;
  };

  const t0 = performance.now();
  let sent = 0;
  const tick = setInterval(() => {
    if (stopped) return;
    const due = Math.floor(((performance.now() - t0) / 1000) * a.rate) - sent;
    for (let k = 0; k < due && inFlight < MAX_IN_FLIGHT; k++) void order(sent++);
  }, 10);
  const progress = setInterval(
    () => process.send?.({ kind: "progress", ok, errors, failovers } satisfies OrdersMessage),
    1000,
  );
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    clearInterval(tick);
    clearInterval(progress);
    const until = Date.now() + 15_000;
    while (inFlight > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    for (const t of targets) t?.agent.destroy();
    process.send?.({ kind: "done", mutations, errorSamples } satisfies OrdersMessage, () => process.exit(0));
  };
  setTimeout(() => void stop(), a.maxSeconds * 1000).unref();
  process.on("disconnect", () => process.exit(0));
  process.on("message", (m: OrdersCommand) => {
    if (m.cmd === "stop") void stop();
  });
}

if (process.send) {
  process.once("message", (m: OrdersCommand) => {
    if (m.cmd === "start") main(m.args);
  });
}
