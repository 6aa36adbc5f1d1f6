import pino, { type Logger } from "pino";
import type { Config } from "../config.ts";

export type { Logger };

/** JSON logs in production (one object per line), pino-pretty for a person at a terminal. */
export function createLogger(config: Pick<Config, "LOG_LEVEL" | "logPretty">, base: Record<string, unknown> = {}) {
  return pino({
    level: config.LOG_LEVEL,
    base: { pid: process.pid, ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: ["req.headers.authorization", "*.authorization", "*.password"], censor: "[redacted]" },
    ...(config.logPretty
      ? { transport: { target: "pino-pretty", options: { colorize: true, translateTime: "SYS:HH:MM:ss.l" } } }
      : {}),
  });
}
