import { createServer, type Server } from "node:http";
import { readyBody, type CheckResults } from "./readiness.ts";

export interface HealthServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** What /metrics serves: the process registry (see Metrics). */
export interface MetricsSource {
  contentType: string;
  render(): Promise<string>;
}

/**
 * /health, /ready and /metrics for processes without the api role (relay and worker replicas), so
 * an orchestrator and Prometheus can probe every role the same way. The api serves the same paths itself.
 */
export async function startHealthServer(
  port: number,
  host: string,
  readiness: () => Promise<CheckResults | void>,
  metrics?: MetricsSource,
): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, body: object) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, { error: "method not allowed" });
    if (path === "/health") return reply(200, { status: "ok" });
    if (path === "/ready") {
      readiness().then(
        (checks) => reply(200, checks ? readyBody(checks) : { ready: true }),
        (err: Error) => reply(503, readyBody(err)),
      );
      return;
    }
    if (path === "/metrics" && metrics) {
      metrics.render().then(
        (text) => res.writeHead(200, { "content-type": metrics.contentType }).end(text),
        (err: Error) => reply(500, { error: err.message }),
      );
      return;
    }
    reply(404, { error: "not found" });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  return {
    server,
    port: typeof address === "object" && address ? address.port : port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
