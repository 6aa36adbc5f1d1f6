import { createServer, type IncomingMessage, type Server } from "node:http";
import { createYoga, useReadinessCheck } from "graphql-yoga";
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import { frameReplacer, sendsSharedFrames, sharedPayload } from "./shared-frames.ts";
import { GraphQLError, type ExecutionArgs } from "graphql";
import type { Duplex } from "node:stream";
import type { GraphQLSchema } from "graphql";
import { maskError } from "./errors.ts";
import { useOperationLog, useTraceHeader } from "./plugins.ts";
import { hubOf, type Context, type SharedContext } from "./context.ts";
import type { TraceContext } from "../observability/trace.ts";
import type { Logger } from "../observability/logger.ts";
import { entryTrace, useMetrics, useRequestSpans } from "../observability/yoga.ts";
import { readyBody, type CheckResults } from "../observability/readiness.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { TokenVerifier } from "../auth/tokens.ts";
import { authorizationFromConnectionParams, viewerFromAuthorization } from "../auth/authenticate.ts";
import { describeViewer, principalKey, type Viewer } from "../auth/principal.ts";
import { AppError } from "../shared/errors.ts";
import { bodyLimit, queryLimitPlugins, type QueryLimits } from "./limits.ts";
import { useMutationRateLimit } from "./rate-limit.ts";
import { useArgumentChecks } from "./arguments.ts";
import { useSubscriptionCaps, type SubscriptionCaps } from "./subscription-caps.ts";
import { useSharedSubscriptionExecution } from "./shared-execution.ts";
import { withDashboard, type DashboardOptions } from "./dashboard.ts";
import { renderLocalGraphiQL, withGraphiQLAssets } from "./graphiql.ts";
import { trustedParams, useTrustedDocuments, type TrustedDocuments } from "./trusted-documents.ts";

export interface WebSocketLimits {
  initTimeoutMs: number;
  keepAliveMs: number;
  maxConnections: number;
  maxSubscriptionsPerConnection: number;
}

export interface ApiDeps {
  /** The schema the composition root built from the modules (src/schema.ts). */
  schema: GraphQLSchema;
  shared: SharedContext;
  /** The document GraphiQL opens with. */
  graphiqlExamples?: string;
  log: Logger;
  /** Resolves when every dependency answers; rejects with the reason otherwise. */
  readiness: () => Promise<CheckResults | void>;
  /** Process metrics, served at GET /metrics with Yoga's GraphQL metrics. */
  metrics?: Metrics;
  graphiql: boolean;
  /** Default request headers GraphiQL opens with (a dev token), computed per page load. */
  graphiqlHeaders?: () => Promise<string | undefined>;
  /** Dev tokens for the dashboard's login buttons: set only with the public development secret. */
  devToken?: DashboardOptions["devToken"];
  ws: WebSocketLimits;
  verifyToken: TokenVerifier;
  limits: QueryLimits;
  maxBodyBytes: number;
  /** Kernel accept queue of the listening socket (HTTP_LISTEN_BACKLOG); Node's default when omitted. */
  listenBacklog?: number;
  corsOrigins: string[] | "*" | null;
  rateLimit: { limit: number; windowMs: number };
  subscriptionCaps: SubscriptionCaps;
  /** When set, only these operations run (production, TRUSTED_DOCUMENTS): see trusted-documents.ts. */
  trustedDocuments?: TrustedDocuments;
  /** Serve /metrics and /ready on the api port too (outside production); else only on the health port. */
  opsOnApiPort: boolean;
}

interface InitialContext {
  request?: Request;
  /** graphql-ws: the upgrade request and the connection_init payload. */
  req?: IncomingMessage;
  connectionParams?: Record<string, unknown>;
  /** graphql-ws: the principal verified once at connection_init. */
  viewer?: Viewer;
}

/** What we keep per graphql-ws socket (beside its upgrade request in ctx.extra): who connected. */
interface SocketExtra extends Record<PropertyKey, unknown> {
  viewer?: Viewer;
  expiry?: NodeJS.Timeout;
}

export interface Api {
  server: Server;
  listen(port: number, host: string): Promise<number>;
  /** `afterSockets` runs once the WebSocket clients are closed (1012), before waiting for HTTP/SSE to end. */
  close(timeoutMs: number, afterSockets?: () => void): Promise<void>;
}

export function createApi(deps: ApiDeps): Api {
  const traces = new WeakMap<Request, TraceContext>();

  const hub = (stream: string) => hubOf(deps.shared.hubs, stream);
  const buildContext = async (initial: InitialContext): Promise<Context> => {
    const incoming =
      initial.request?.headers.get("traceparent") ??
      (typeof initial.connectionParams?.traceparent === "string" ? initial.connectionParams.traceparent : undefined) ??
      headerValue(initial.req?.headers.traceparent);
    const trace = entryTrace(initial.request, incoming);
    if (initial.request) traces.set(initial.request, trace);
    const log = deps.log.child({ traceId: trace.traceId });
    const viewer =
      initial.viewer !== undefined
        ? initial.viewer
        : await viewerFromAuthorization(initial.request?.headers.get("authorization"), deps.verifyToken).catch(
            (err) => {
              log.info({ reason: (err as Error).message }, "request with a bad credential refused");
              throw err;
            },
          );
    const address = initial.req?.socket?.remoteAddress ?? "unknown";
    const clientKey = viewer ? principalKey(viewer) : `ip:${address}`;
    return { ...deps.shared, hub, trace, log, viewer, clientKey };
  };

  const yoga = createYoga<InitialContext, Context>({
    schema: deps.schema,
    graphqlEndpoint: "/graphql",
    healthCheckEndpoint: "/health",
    landingPage: false,
    // GraphiQL from node_modules (no CDN); subscriptions send the Headers tab's token (see graphiql.ts).
    renderGraphiQL: renderLocalGraphiQL,
    graphiql: !deps.graphiql
      ? false
      : async () => ({
          title: "Order gateway",
          subscriptionsProtocol: "WS",
          defaultQuery: deps.graphiqlExamples,
          headers: await deps.graphiqlHeaders?.(),
        }),
    // One operation per request: a batch would multiply every limit below by its length.
    batching: false,
    // bodyLimit (limits.ts) already refuses bodies without a Content-Length or over the limit
    // before Yoga sees them, and Node reads no more than Content-Length; Yoga's own 25 MB check
    // would re-pipe every body through a TransformStream (~15% of a small request's CPU here).
    maxRequestBodySize: false,
    cors:
      deps.corsOrigins === null
        ? false
        : {
            origin: deps.corsOrigins === "*" ? "*" : deps.corsOrigins,
            methods: ["GET", "POST"],
            allowedHeaders: ["content-type", "authorization", "traceparent", "x-graphql-csrf"],
            exposedHeaders: ["traceparent", "retry-after"],
            maxAge: 600,
          },
    // isDev off: Yoga would otherwise copy the original error (stack, message) into responses.
    maskedErrors: { maskError: (error, message) => maskError(error, message), isDev: false },
    logging: {
      debug: (...args) => deps.log.debug(args.join(" ")),
      info: (...args) => deps.log.info(args.join(" ")),
      warn: (...args) => deps.log.warn(args.join(" ")),
      // Yoga reports every error it passes to maskError here, expected ones too: those are already
      // answered with a typed code (and unexpected ones logged with their trace id by useOperationLog).
      error: (...args) => deps.log.debug({ yoga: args.map(String).join(" ") }, "graphql error"),
    },
    context: buildContext,
    plugins: [
      // First: the allow-list decides which document runs before anything parses one.
      ...(deps.trustedDocuments ? useTrustedDocuments(deps.trustedDocuments) : []),
      ...queryLimitPlugins(deps.limits),
      useArgumentChecks(),
      useSubscriptionCaps(deps.subscriptionCaps),
      useMutationRateLimit({
        redis: deps.shared.redis,
        keyPrefix: `${deps.shared.layout.prefix}:ratelimit`,
        onFailOpen: () => deps.metrics?.rateLimiterFailOpen.inc(),
        ...deps.rateLimit,
      }),
      useRequestSpans(),
      // Without /metrics here, the plugin still records (the health port serves the registry).
      ...(deps.metrics ? [useMetrics(deps.metrics, deps.opsOnApiPort ? "/metrics" : false)] : []),
      useTraceHeader((request) => traces.get(request)),
      useOperationLog(),
      useSharedSubscriptionExecution(),
      ...(deps.opsOnApiPort
        ? [
            useReadinessCheck({
              endpoint: "/ready",
              check: async () => {
                try {
                  const checks = await deps.readiness();
                  return new Response(JSON.stringify(checks ? readyBody(checks) : { ready: true }), {
                    status: 200,
                    headers: { "content-type": "application/json" },
                  });
                } catch (err) {
                  deps.log.warn({ err }, "not ready");
                  return new Response(JSON.stringify(readyBody(err as Error)), {
                    status: 503,
                    headers: { "content-type": "application/json" },
                  });
                }
              },
            }),
          ]
        : []),
    ],
  });

  const server = createServer(
    withDashboard(
      { log: deps.log, devToken: deps.devToken },
      withGraphiQLAssets(deps.graphiql, bodyLimit(deps.maxBodyBytes, yoga)),
    ),
  );
  // Upgrades are accepted here rather than by ws itself, so a full server refuses new sockets
  // with a plain HTTP 503 before spending anything on them.
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  deps.metrics?.watchWebSockets(() => wss.clients.size);
  server.on("upgrade", (req, socket, head) => {
    const path = (req.url ?? "").split("?")[0];
    if (path !== yoga.graphqlEndpoint) return refuse(socket, 404, "Not Found");
    if (wss.clients.size >= deps.ws.maxConnections) {
      deps.log.warn({ connections: wss.clients.size }, "websocket refused: connection limit reached");
      return refuse(socket, 503, "Service Unavailable");
    }
    wss.handleUpgrade(req, socket, head, (client) => wss.emit("connection", sendsSharedFrames(client), req));
  });
  const ws = useServer<Record<string, unknown>, SocketExtra>(
    {
      connectionInitWaitTimeout: deps.ws.initTimeoutMs,
      // The token comes once, in connection_init: none → 4401, bad → 4403. The socket closes (4403)
      // when the token expires, ending every subscription on it; clients reconnect with a new one.
      onConnect: async (ctx) => {
        const header = authorizationFromConnectionParams(ctx.connectionParams);
        const socket = ctx.extra.socket;
        if (header === null) {
          socket.close(4401, "Unauthorized: send connection_init with { authorization: 'Bearer <token>' }");
          return false;
        }
        try {
          const viewer = await viewerFromAuthorization(header, deps.verifyToken);
          ctx.extra.viewer = viewer;
          if (viewer) {
            const remaining = Math.min(viewer.expiresAt - Date.now(), 2 ** 31 - 1);
            ctx.extra.expiry = setTimeout(() => socket.close(4403, "Forbidden: token expired"), remaining);
            socket.once("close", () => clearTimeout(ctx.extra.expiry));
          }
          deps.log.debug({ viewer: describeViewer(viewer) }, "websocket authenticated");
          return true;
        } catch (err) {
          deps.log.info({ reason: (err as Error).message }, "websocket refused: bad credential");
          socket.close(4403, err instanceof AppError ? err.message.slice(0, 120) : "Forbidden");
          return false;
        }
      },
      // A result shared by many subscribers is serialized once, not once per subscriber.
      onNext: (_ctx, _id, _payload, _args, result) => sharedPayload(result),
      jsonMessageReplacer: frameReplacer,
      execute: (args) => (args.rootValue as Enveloped).execute(args),
      subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
      onSubscribe: async (ctx, _id, payload) => {
        // ctx.subscriptions already holds this one while it is being set up.
        if (Object.keys(ctx.subscriptions).length > deps.ws.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`at most ${deps.ws.maxSubscriptionsPerConnection} subscriptions per connection`, {
              extensions: { code: "LIMIT_EXCEEDED" },
            }),
          ];
        }
        const params = deps.trustedDocuments ? trustedParams(deps.trustedDocuments, payload) : payload;
        if (params instanceof GraphQLError) return [maskError(params, params.message) as GraphQLError];
        // Parsing, limits and validation may throw GraphQLErrors (syntax, token and alias limits):
        // the client's mistake, answered as an error result rather than a 4500 close.
        try {
          const enveloped = yoga.getEnveloped({
            req: ctx.extra.request,
            connectionParams: ctx.connectionParams,
            viewer: ctx.extra.viewer ?? null,
            params,
          } as InitialContext);
          const document = enveloped.parse(params.query);
          const args: ExecutionArgs = {
            schema: enveloped.schema,
            document,
            operationName: params.operationName,
            variableValues: params.variables,
            contextValue: await enveloped.contextFactory(),
            rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
          };
          const errors = enveloped.validate(args.schema, args.document);
          return errors.length ? errors.map((e: GraphQLError) => maskError(e, e.message) as GraphQLError) : args;
        } catch (err) {
          if (err instanceof GraphQLError) return [maskError(err, err.message) as GraphQLError];
          throw err;
        }
      },
    },
    wss,
    deps.ws.keepAliveMs, // 0 turns pings off
  );

  return {
    server,
    listen: (port, host) =>
      new Promise((resolve, reject) => {
        server.once("error", reject);
        // Every client of a restarted replica reconnects at once: with Node's default queue (511) the
        // kernel drops the SYNs beyond it, and each of those clients waits out TCP's retransmit
        // backoff (1 s, 3 s, 7 s, …) before it is even seen.
        server.listen({ port, host, backlog: deps.listenBacklog }, () => {
          server.off("error", reject);
          const address = server.address();
          resolve(typeof address === "object" && address ? address.port : port);
        });
      }),
    async close(timeoutMs, afterSockets) {
      // Stop accepting, tell WebSocket clients to reconnect (1012: to another replica),
      // let in-flight HTTP requests finish, and cut what is left when the time is up.
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // 1012 Service Restart (RFC 6455 registry): "come back, to another replica or to me shortly".
      // graphql-ws clients retry on it; subscriptions resume with their last cursor.
      for (const socket of wss.clients) socket.close(SERVICE_RESTART, "Service Restart");
      await ws.dispose(); // any socket left (none) would get 1001 Going Away
      wss.close();
      afterSockets?.();
      server.closeIdleConnections();
      const timer = setTimeout(() => server.closeAllConnections(), timeoutMs);
      await closed;
      clearTimeout(timer);
    },
  };
}

/** The close code graphql-ws clients get when the api shuts down (README: deploys). */
export const SERVICE_RESTART = 1012;

// Yoga's enveloped execute/subscribe, passed through rootValue (the documented graphql-ws integration).
type Enveloped = { execute: (args: ExecutionArgs) => never; subscribe: (args: ExecutionArgs) => never };

function refuse(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
