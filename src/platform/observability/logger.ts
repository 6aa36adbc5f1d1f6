import pino, { type DestinationStream, type Logger } from "pino";

export type { Logger };

/**
 * Field paths whose values are never logged: credentials in headers (HTTP and graphql-ws
 * connection_init payloads) and anything called a token, password or secret, up to two levels deep.
 */
const SECRET_KEYS = [
  "authorization",
  "Authorization",
  "cookie",
  "set-cookie",
  "token",
  "accessToken",
  "refreshToken",
  "idToken",
  "password",
  "secret",
  "apiKey",
];
export const REDACT_PATHS = [
  "req.headers.authorization",
  "req.headers.cookie",
  "headers.authorization",
  "headers.cookie",
  "*.headers.authorization",
  "*.headers.cookie",
  "connectionParams.authorization",
  "connectionParams.Authorization",
  "*.connectionParams.authorization",
  ...SECRET_KEYS,
  ...SECRET_KEYS.map((k) => `*.${k}`),
];

/** `scheme://user:password@host` → `scheme://user:[redacted]@host` (database and Redis URLs, in any string). */
const URL_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)[^\s@/]+@/gi;
/** `Bearer <token>` anywhere in a message. */
const BEARER = /\b(bearer\s+)[A-Za-z0-9._~+/=-]+/gi;

export function scrubSecrets(text: string): string {
  return text.replace(URL_PASSWORD, "$1[redacted]@").replace(BEARER, "$1[redacted]");
}

/** Scrubs every string of a log record (messages, error messages and stacks, nested fields). */
function scrubValue(value: unknown, depth = 0): unknown {
  if (typeof value === "string") return scrubSecrets(value);
  // Errors pass through untouched here: the err serializer (which runs later) scrubs what it keeps of them.
  if (depth > 6 || value === null || typeof value !== "object" || value instanceof Error) return value;
  if (Array.isArray(value)) return value.map((v) => scrubValue(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrubValue(v, depth + 1);
  return out;
}

/**
 * JSON logs in production (one object per line), pino-pretty for a person at a terminal
 * (`logPretty`: LOG_PRETTY, else on in development when stdout is a TTY). Secrets never reach
 * the output: known fields are redacted by path, and passwords in URLs and bearer tokens are
 * scrubbed from every string, error messages included.
 */
/** What the logger reads from the process config. */
export interface LogSettings {
  LOG_LEVEL: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  logPretty: boolean;
}

/**
 * pino-pretty for a person at a terminal: one line per event — time, level, message, then the
 * fields as compact JSON on the same line. Only an `err` is printed below its line, with the stack
 * over several lines (pino-pretty always treats pino's error key so), where it is easiest to read.
 */
export const PRETTY_OPTIONS = {
  colorize: true,
  singleLine: true,
  translateTime: "SYS:HH:MM:ss.l",
  ignore: "pid,hostname",
};

export function createLogger(config: LogSettings, base: Record<string, unknown> = {}, destination?: DestinationStream) {
  const options: pino.LoggerOptions = {
    level: config.LOG_LEVEL,
    base: { pid: process.pid, ...base },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    serializers: {
      err: (err: unknown) => {
        if (!(err instanceof Error)) return scrubValue(err);
        const s = pino.stdSerializers.err(err);
        return scrubValue({ ...s, type: s.type, message: s.message, stack: s.stack }) as pino.SerializedError;
      },
    },
    formatters: { log: (record) => scrubValue(record) as Record<string, unknown> },
    hooks: {
      logMethod(args, method) {
        // The message string (last string argument, or the only one).
        for (let i = 0; i < args.length; i++)
          if (typeof args[i] === "string") args[i] = scrubSecrets(args[i] as string);
        return method.apply(this, args as Parameters<typeof method>);
      },
    },
    ...(config.logPretty && !destination
      ? {
          transport: {
            target: "pino-pretty",
            options: PRETTY_OPTIONS,
          },
        }
      : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}
