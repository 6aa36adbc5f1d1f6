import { ConfigError, loadConfig } from "./config.ts";
import { createLogger } from "./platform/observability/logger.ts";
import { startApp } from "./app.ts";
import { StreamLayoutError } from "./platform/events/layout-guard.ts";
import { initTracing } from "./platform/observability/tracing.ts";

/** Entry point: `ROLES=api,relay tsx src/main.ts`. SIGTERM/SIGINT shut down gracefully. */
async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const log = createLogger(config);
  const flushSpans = await initTracing({
    endpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT,
    serviceName: config.OTEL_SERVICE_NAME,
    roles: config.ROLES,
    log,
  });
  // Signals are taken from here on: one that arrives while the roles start is acted on once they have
  // (a graceful stop of what started), never the default of dying mid-start.
  const started: { app?: Awaited<ReturnType<typeof startApp>> } = {};
  let pending: string | undefined;
  let stopping = false;
  const shutdown = (signal: string) => {
    const app = started.app;
    if (!app) return void (pending ??= signal);
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down");
    app.stop().then(
      async () => {
        await flushSpans();
        log.info("stopped");
        log.flush();
        process.exit(0);
      },
      (err) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  started.app = await startApp(config, log);
  if (pending) shutdown(pending);
}

main().catch((err) => {
  if (err instanceof StreamLayoutError) {
    console.error(err.message);
    process.exit(2);
  }
  console.error(err);
  process.exit(1);
});
