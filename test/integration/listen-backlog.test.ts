/**
 * The api's accept queue: after a restart every client reconnects at once, and SYNs beyond the queue
 * are dropped (each such client then waits out TCP's retransmit backoff). The listening socket's
 * queue is HTTP_LISTEN_BACKLOG, capped by the kernel's net.core.somaxconn; `ss` shows it as Send-Q.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { beforeAll, expect, it } from "vitest";
import { createTestEnv, type TestEnv } from "../support/test-env.ts";

let env: TestEnv;
beforeAll(async () => {
  env = await createTestEnv("listen-backlog", { seed: false });
});

const acceptQueue = (port: number) => {
  const line = execFileSync("ss", ["-ltnH", `sport = :${port}`], { encoding: "utf8" }).trim();
  return Number(line.split(/\s+/)[2]); // State Recv-Q Send-Q …: Send-Q is the backlog of a listening socket
};

it("listens with the configured accept queue, capped by somaxconn", async () => {
  const somaxconn = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8"));
  const byDefault = await env.start(["api"]);
  expect(acceptQueue(byDefault.port!)).toBe(Math.min(4096, somaxconn));
  const small = await env.start(["api"], { HTTP_LISTEN_BACKLOG: "100" });
  expect(acceptQueue(small.port!)).toBe(Math.min(100, somaxconn));
});
