import { createServer, type Server } from "node:http";

export interface HealthServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * /health and /ready for processes without the api role (relay and worker replicas), so an
 * orchestrator can probe every role the same way. The api serves the same paths itself.
 */
export async function startHealthServer(port: number, host: string, readiness: () => Promise<void>): Promise<HealthServer> {
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, body: object) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, { error: "method not allowed" });
    if (path === "/health") return reply(200, { status: "ok" });
    if (path === "/ready") {
      readiness().then(
        () => reply(200, { ready: true }),
        (err: Error) => reply(503, { ready: false, reason: err.message }),
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
