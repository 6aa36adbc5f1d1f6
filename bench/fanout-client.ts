/**
 * Subscriber load generator for `fanout` and `peer` (a child process of bench/fanout.ts, never run
 * by hand). Opens `sockets` graphql-ws connections on loopback (from its own source address, so
 * several of these processes never run out of ephemeral ports), `perSocket` subscriptions on each;
 * subscriber i (global index) watches customer `c-<i mod customers>`. For every event received it
 * records commit→client latency (now − the event's occurredAt, ms resolution) in a histogram, and,
 * for the restart test, the event's sequence number (carried in totalCents) per subscriber. With
 * `trackIds` (bench/resume.ts: real orders, no sequence numbers) it keeps, per subscriber, when each
 * eventId first arrived, and `verify` checks that against the stream's ground truth.
 *
 * Bounded: it exits when the parent says stop, when the parent goes away, or after `maxSeconds`.
 * IPC in: start, measure on/off, report, stop. IPC out: progress (1/s), report.
 */
import WebSocket from "ws";
import { createClient, type Client } from "graphql-ws";
import { subscribeResuming } from "../src/client/resuming-subscription.ts";

export type ServerKind = "ours" | "peer" | "raw";

export interface ClientArgs {
  url: string;
  kind: ServerKind;
  sockets: number;
  perSocket: number;
  /** Global index of this process's first subscriber. */
  firstIndex: number;
  customers: number;
  localAddress: string;
  /** ours: resume with `after` (src/client/resuming-subscription.ts); others: plain resubscribe. */
  resume: boolean;
  trackSeqs: boolean;
  maxSeconds: number;
  /** Sent in connection_init (admin token; the peer and raw servers ignore it). */
  authorization: string;
  /** Per subscriber: eventId → first arrival (ms since epoch), duplicates by eventId (resume). */
  trackIds?: boolean;
  /** graphql-ws reconnect wait, jittered 0.5–1.5× (default 200–1000 ms). */
  retryMs?: number;
}

/** Ground truth for `verify`, per customer: the eventIds after the watermark, in stream order. */
export interface VerifyArgs {
  expected: Record<string, string[]>;
  /** Per customer: index in `expected` of its last event in the stream when the server listened again (−1: none). */
  lastAtListen: Record<string, number>;
  /** When the restarted server accepted connections again (ms since epoch). */
  listenAt: number;
}

export interface VerifyReport {
  subscribers: number;
  expected: number;
  distinct: number;
  lost: number;
  duplicates: number;
  /** Expected events that were in the stream at listenAt and arrived after it: delivered by replay. */
  replayed: number;
  /** Per subscriber: listenAt → its last event of the stream at listenAt arrived (0 if it had it before). */
  caughtUpMs: number[];
  /** Per socket: listenAt → the socket connected again. */
  reconnectMs: number[];
}

export type ClientCommand =
  | { cmd: "start"; args: ClientArgs }
  | { cmd: "measure"; on: boolean }
  | { cmd: "report"; seqFrom: number; seqTo: number }
  | { cmd: "verify"; args: VerifyArgs }
  /** Per customer: the eventId that means "caught up" (counted in progress.caughtUp from now on). */
  | { cmd: "targets"; targets: Record<string, string> }
  | { cmd: "stop" };

export interface ClientReport {
  /** Latency histogram: hist[ms] = count, last bucket = everything above. */
  hist: number[];
  /** Events received while measuring. */
  delivered: number;
  /** Distinct (subscriber, seq) pairs with seqFrom ≤ seq ≤ seqTo (trackSeqs). */
  distinctInWindow: number;
  /** Receipts of a (subscriber, seq) pair already seen (trackSeqs). */
  duplicates: number;
  errors: number;
  errorSamples: string[];
  connects: number;
  closes: number;
}

export type ClientMessage =
  | {
      kind: "progress";
      connected: number;
      open: number;
      primed: number;
      received: number;
      errors: number;
      closes: number;
      /** Subscribers that have received their `targets` event (trackIds). */
      caughtUp: number;
    }
  | { kind: "report"; report: ClientReport }
  | { kind: "verified"; report: VerifyReport };

const HIST_MAX = 60_000;

const QUERIES: Record<ServerKind, string> = {
  ours: `subscription Watch($c: ID, $after: String) {
  orderEvents(customerId: $c, after: $after) { eventId occurredAt cursor ... on OrderCreated { totalCents } }
}`,
  peer: `subscription Watch($c: ID!) { orderEvents(customerId: $c) { eventId occurredAt totalCents } }`,
  raw: `subscription Watch($c: ID!) { orderEvents(customerId: $c) { eventId occurredAt totalCents } }`,
};

interface EventData {
  orderEvents: { eventId: string; occurredAt: string; totalCents?: number; cursor?: string };
}

function main(args: ClientArgs): void {
  const hist = new Uint32Array(HIST_MAX + 1);
  let measuring = false;
  let delivered = 0;
  let received = 0;
  let errors = 0;
  let connects = 0;
  let open = 0;
  let closes = 0;
  let duplicates = 0;
  const primed = new Uint8Array(args.sockets * args.perSocket);
  let primedCount = 0;
  const seqs: Set<number>[] = args.trackSeqs ? Array.from({ length: primed.length }, () => new Set<number>()) : [];
  const arrivals: Map<string, number>[] = args.trackIds
    ? Array.from({ length: primed.length }, () => new Map<string, number>())
    : [];
  const connectedAt = new Float64Array(args.sockets);
  const customerOf = (local: number) => `c-${(args.firstIndex + local) % args.customers}`;
  let targets: Record<string, string> | undefined;
  let caughtUp = 0;
  const clients: Client[] = [];
  const disposers: (() => void)[] = [];
  const describe = (what: unknown): string => {
    if (what instanceof Error) return what.message;
    const w = what as { code?: number; reason?: string; type?: string; message?: string } | undefined;
    if (w && typeof w === "object" && ("code" in w || "type" in w))
      return `${w.type ?? "event"} ${w.code ?? ""} ${w.reason ?? w.message ?? ""}`.trim();
    return JSON.stringify(what);
  };
  const errorKinds = new Map<string, number>();
  const noteError = (what: unknown) => {
    errors++;
    const text = describe(what).slice(0, 300);
    errorKinds.set(text, (errorKinds.get(text) ?? 0) + 1);
  };

  const onEvent = (local: number, data: EventData) => {
    const now = Date.now();
    received++;
    if (!primed[local]) {
      primed[local] = 1;
      primedCount++;
    }
    const e = data.orderEvents;
    if (args.trackIds) {
      const seen = arrivals[local]!;
      if (seen.has(e.eventId)) duplicates++;
      else {
        seen.set(e.eventId, now);
        if (targets && targets[customerOf(local)] === e.eventId) caughtUp++;
      }
    } else if (args.trackSeqs && typeof e.totalCents === "number") {
      const set = seqs[local]!;
      if (set.has(e.totalCents)) duplicates++;
      else set.add(e.totalCents);
    }
    if (!measuring) return;
    delivered++;
    const lat = Math.max(0, now - Date.parse(e.occurredAt));
    hist[Math.min(HIST_MAX, lat)]!++;
  };

  // graphql-ws can leave a failed connect's promise unobserved while the server is down: count it, do not die.
  process.on("unhandledRejection", noteError);

  const localAddress = args.localAddress;
  class BoundWebSocket extends WebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols, { localAddress, perMessageDeflate: false });
    }
  }

  const openSocket = (s: number) => {
    const client = createClient({
      url: args.url.replace(/^http/, "ws"),
      webSocketImpl: BoundWebSocket,
      lazy: false,
      keepAlive: 0,
      connectionParams: { authorization: args.authorization },
      retryAttempts: 1_000,
      shouldRetry: () => true,
      retryWait: () =>
        new Promise((r) =>
          setTimeout(r, args.retryMs ? args.retryMs * (0.5 + Math.random()) : 200 + Math.random() * 800),
        ),
      on: {
        connected: () => {
          connectedAt[s] = Date.now();
          connects++;
          open++;
        },
        closed: () => {
          closes++;
          if (open > 0) open--;
        },
        error: (err) => noteError(err),
      },
    });
    clients.push(client);
    for (let k = 0; k < args.perSocket; k++) {
      const local = s * args.perSocket + k;
      const c = `c-${(args.firstIndex + local) % args.customers}`;
      if (args.kind === "ours" && args.resume) {
        const sub = subscribeResuming<EventData>(client, {
          query: QUERIES.ours,
          variables: { c },
          cursorOf: (d) => d.orderEvents.cursor,
          onData: (d) => onEvent(local, d),
          onError: noteError,
          retryDelayMs: 500,
        });
        disposers.push(() => sub.dispose());
      } else {
        const dispose = client.subscribe<EventData>(
          { query: QUERIES[args.kind], variables: { c } },
          {
            next: (r) => {
              if (r.errors?.length) noteError(r.errors);
              else if (r.data) onEvent(local, r.data as unknown as EventData);
            },
            error: noteError,
            complete: () => {},
          },
        );
        disposers.push(dispose);
      }
    }
  };

  const progress = () =>
    process.send?.({
      kind: "progress",
      connected: connects,
      open,
      primed: primedCount,
      received,
      errors,
      closes,
      caughtUp,
    } satisfies ClientMessage);
  const tick = setInterval(progress, 1000);

  // Open sockets in steps, at most ~400 handshakes outstanding, so the server's accept queue holds.
  void (async () => {
    for (let s = 0; s < args.sockets; s++) {
      openSocket(s);
      if (s % 100 === 99) {
        const until = Date.now() + 10_000;
        while (s + 1 - connects > 400 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      }
    }
  })();

  const verify = (v: VerifyArgs): VerifyReport => {
    const r: VerifyReport = {
      subscribers: arrivals.length,
      expected: 0,
      distinct: 0,
      lost: 0,
      duplicates,
      replayed: 0,
      caughtUpMs: [],
      reconnectMs: Array.from(connectedAt, (t) => t - v.listenAt),
    };
    arrivals.forEach((seen, local) => {
      const c = customerOf(local);
      const ids = v.expected[c] ?? [];
      const last = v.lastAtListen[c] ?? -1;
      r.expected += ids.length;
      ids.forEach((id, i) => {
        const at = seen.get(id);
        if (at === undefined) r.lost++;
        else {
          r.distinct++;
          if (i <= last && at >= v.listenAt) r.replayed++;
        }
      });
      const at = last >= 0 ? seen.get(ids[last]!) : v.listenAt;
      r.caughtUpMs.push(at === undefined ? NaN : Math.max(0, at - v.listenAt));
    });
    return r;
  };

  const stop = async () => {
    clearInterval(tick);
    for (const d of disposers) d();
    await Promise.race([Promise.all(clients.map((c) => c.dispose())), new Promise((r) => setTimeout(r, 5_000))]);
    process.exit(0);
  };
  setTimeout(() => void stop(), args.maxSeconds * 1000).unref();
  process.on("disconnect", () => void stop());
  process.on("message", (m: ClientCommand) => {
    if (m.cmd === "measure") {
      measuring = m.on;
      if (m.on) {
        hist.fill(0);
        delivered = 0;
      }
    } else if (m.cmd === "report") {
      let distinct = 0;
      for (const set of seqs) for (const s of set) if (s >= m.seqFrom && s <= m.seqTo) distinct++;
      const errorSamples = [...errorKinds]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([text, n]) => `${n}× ${text}`);
      const report: ClientReport = {
        hist: Array.from(hist),
        delivered,
        distinctInWindow: distinct,
        duplicates,
        errors,
        errorSamples,
        connects,
        closes,
      };
      process.send?.({ kind: "report", report } satisfies ClientMessage);
    } else if (m.cmd === "targets") {
      targets = m.targets;
      caughtUp = 0;
      arrivals.forEach((seen, local) => {
        const target = targets![customerOf(local)];
        if (target === undefined || seen.has(target)) caughtUp++;
      });
    } else if (m.cmd === "verify") {
      process.send?.({ kind: "verified", report: verify(m.args) } satisfies ClientMessage);
    } else if (m.cmd === "stop") void stop();
  });
}

if (process.send) {
  process.once("message", (m: ClientCommand) => {
    if (m.cmd === "start") main(m.args);
  });
}
