/**
 * Load generator for `createorder` (a child process of bench/createorder.ts, never run by hand):
 * N keep-alive HTTP/1.1 connections on loopback, each sending the createOrder mutation back to back
 * (closed loop: one request in flight per connection), for a warm-up and then a measured window.
 * Bounded in time (--warmup + --seconds) and count (--max-requests). Reports to the parent over
 * IPC: progress once a second, then one result with throughput, latency percentiles and errors.
 *
 * Zero dependencies (node:http with a keep-alive Agent); one process costs ~0.1–0.2 core at the
 * rates this box reaches, which the parent measures and prints next to the result.
 */
import http from "node:http";
import { sleep } from "../src/platform/shared/backoff.ts";

export interface LoadgenArgs {
  /** One per api process: connection i goes to urls[i % urls.length], as a load balancer would spread them. */
  urls: string[];
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
  maxRequests: number;
  /** Distinct customers to spread orders over. */
  customers: number;
  skus: string[];
  /** Authorization header value (admin token: it may order for any customer). */
  authorization: string;
}

export interface LoadgenResult {
  concurrency: number;
  seconds: number;
  ok: number;
  errors: number;
  /** Including warm-up and the requests in flight at the end: what the database must hold. */
  totalOk: number;
  totalErrors: number;
  errorSamples: string[];
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export type LoadgenMessage =
  | { kind: "progress"; phase: "warmup" | "measure"; second: number; ok: number; errors: number; total: number }
  | { kind: "result"; result: LoadgenResult };

/** What a client asks for: the README's PlaceOrder minus the item list (one read-back of the order). */
export const MUTATION = `mutation PlaceOrder($input: CreateOrderInput!) {
  createOrder(input: $input) { traceId order { id status totalCents currency } }
}`;

async function main(args: LoadgenArgs): Promise<LoadgenResult> {
  const targets = args.urls.map((u) => ({
    url: new URL(u),
    agent: new http.Agent({ keepAlive: true, maxSockets: args.concurrency, maxFreeSockets: args.concurrency }),
  }));
  const latencies = new Float64Array(args.maxRequests);
  let measuring = false;
  let stop = false;
  let ok = 0;
  let errors = 0;
  let totalOk = 0;
  let totalErrors = 0;
  let n = 0; // requests recorded in the measured window
  let seq = 0;
  const errorSamples: string[] = [];
  const noteError = (what: string) => {
    totalErrors++;
    if (measuring) errors++;
    if (errorSamples.length < 5) errorSamples.push(what.slice(0, 300));
  };

  const body = () => {
    const i = seq++;
    // Two distinct skus per order, as the pgbench baseline.
    const a = i % args.skus.length;
    const b = (a + 1 + (i % (args.skus.length - 1))) % args.skus.length;
    return JSON.stringify({
      query: MUTATION,
      operationName: "PlaceOrder",
      variables: {
        input: {
          customerId: `c-${i % args.customers}`,
          items: [
            { sku: args.skus[a], quantity: 1 + (i % 3) },
            { sku: args.skus[b === a ? (a + 1) % args.skus.length : b], quantity: 1 },
          ],
        },
      },
    });
  };

  const once = ({ url, agent }: (typeof targets)[number]) =>
    new Promise<void>((resolve) => {
      const payload = body();
      const started = performance.now();
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: url.pathname,
          method: "POST",
          agent,
          headers: {
            "content-type": "application/json",
            accept: "application/json",
            authorization: args.authorization,
            "content-length": Buffer.byteLength(payload),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const elapsed = performance.now() - started;
            const text = Buffer.concat(chunks).toString("utf8");
            if (res.statusCode !== 200 || text.includes('"errors"') || !text.includes('"traceId"')) {
              noteError(`HTTP ${res.statusCode}: ${text}`);
            } else {
              totalOk++;
              if (measuring) {
                ok++;
                if (n < latencies.length) latencies[n++] = elapsed;
                if (n >= latencies.length) stop = true;
              }
            }
            resolve();
          });
          res.on("error", (err) => {
            noteError(String(err));
            resolve();
          });
        },
      );
      req.on("error", (err) => {
        noteError(String(err));
        resolve();
      });
      req.end(payload);
    });

  const worker = async (i: number) => {
    const target = targets[i % targets.length]!;
    while (!stop) await once(target);
  };

  const progress = (phase: "warmup" | "measure", second: number) =>
    process.send?.({
      kind: "progress",
      phase,
      second,
      ok,
      errors,
      total: totalOk + totalErrors,
    } satisfies LoadgenMessage);

  const workers = Array.from({ length: args.concurrency }, (_, i) => worker(i));
  let second = 0;
  const tick = setInterval(() => progress(measuring ? "measure" : "warmup", ++second), 1000);
  await sleep(args.warmupSeconds * 1000);
  second = 0;
  measuring = true;
  const t0 = performance.now();
  await Promise.race([sleep(args.seconds * 1000), until(() => stop)]);
  const wall = (performance.now() - t0) / 1000;
  measuring = false;
  stop = true;
  clearInterval(tick);
  await Promise.race([Promise.all(workers), sleep(10_000)]); // in-flight requests finish (bounded)
  for (const t of targets) t.agent.destroy();

  const sorted = latencies.subarray(0, n).sort();
  const pct = (p: number) => (n ? sorted[Math.min(n - 1, Math.floor((p / 100) * n))]! : NaN);
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  return {
    concurrency: args.concurrency,
    seconds: wall,
    ok,
    errors,
    totalOk,
    totalErrors,
    errorSamples,
    rps: ok / wall,
    p50: pct(50),
    p90: pct(90),
    p99: pct(99),
    max: n ? sorted[n - 1]! : NaN,
    mean: n ? sum / n : NaN,
  };
}

async function until(check: () => boolean) {
  while (!check()) await sleep(50);
}

if (process.send) {
  process.once("message", (args: LoadgenArgs) => {
    main(args).then(
      (result) => process.send!({ kind: "result", result } satisfies LoadgenMessage, () => process.exit(0)),
      (err) => {
        console.error(err);
        process.exit(1);
      },
    );
  });
}
