/**
 * Benchmarks: `npm run bench -- <name> [options]` (package.json: "bench": "tsx bench/run.ts").
 *
 *   createorder   HTTP createOrder vs pgbench running the same transaction (bench/createorder.ts)
 *   relay         OutboxRelay draining a 100,000-row backlog vs raw XADD and DELETE (bench/relay.ts)
 *   fanout        1k–20k graphql-ws subscribers on one api process vs a raw ws fan-out server (bench/fanout.ts)
 *   broadcast     every subscriber on one customer (200 at 50 events/s, 2,000 at 100/s), ours vs the Pub/Sub peer
 *   peer          the same fan-out on a plain Yoga + redis-event-target server, and events lost across a restart
 *   resume        1k/5k/10k subscribers resume at once after the api is SIGKILLed and restarted, vs the Pub/Sub peer (bench/resume.ts)
 *   saga          createOrder → OrderConfirmed at a subscriber, idle system, vs the same hops in raw pg + ioredis
 *   machine       print the machine details only
 *   all           createorder, then relay, both with their defaults
 *
 * Needs Postgres (127.0.0.1:5432, user postgres, trust; pgbench) and Redis (127.0.0.1:6379;
 * redis-benchmark). BENCH_ADMIN_DATABASE_URL and BENCH_REDIS_URL override them. Every benchmark
 * makes its own scratch database and stream prefix and removes both when it ends (Ctrl-C too).
 * Progress goes to stderr, result tables to stdout. Results and analysis: BENCHMARKS.md.
 */
import { createorderBench } from "./createorder.ts";
import { relayBench } from "./relay.ts";
import { broadcastBench, fanoutBench, peerBench } from "./fanout.ts";
import { sagaBench } from "./saga.ts";
import { resumeBench } from "./resume.ts";
import { machineInfo, printMachine } from "./lib/machine.ts";
import { ADMIN_URL, REDIS_URL } from "./lib/scratch.ts";

const benches: Record<string, (argv: string[]) => Promise<void>> = {
  createorder: createorderBench,
  relay: relayBench,
  fanout: fanoutBench,
  peer: peerBench,
  broadcast: broadcastBench,
  resume: resumeBench,
  saga: sagaBench,
  machine: async () => printMachine(await machineInfo(ADMIN_URL, REDIS_URL)),
  all: async () => {
    await createorderBench([]);
    await relayBench([]);
  },
};

const [name, ...rest] = process.argv.slice(2);
const bench = name ? benches[name] : undefined;
if (!bench) {
  console.error(
    `usage: npm run bench -- <${Object.keys(benches).join("|")}> [options]  (see the top of bench/<name>.ts)`,
  );
  process.exit(2);
}
const started = performance.now();
bench(rest).then(
  () => {
    console.error(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    process.exit(0);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
