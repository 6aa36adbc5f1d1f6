/**
 * The peer for `peer` (started by bench/fanout.ts as a child process): what a GraphQL Yoga user
 * would build for live order events — `createPubSub` over `@graphql-yoga/redis-event-target`
 * (Redis Pub/Sub, one channel per topic and customer), a plain SDL schema, and graphql-ws on `ws`
 * wired the way Yoga's documentation shows (the same wiring src/platform/graphql/server.ts uses). Events
 * are PUBLISHed by the benchmark to `<CHANNEL_PREFIX>:orderEvents:<customerId>`.
 *
 * Env: PORT, HOST, REDIS_URL, CHANNEL_PREFIX. GET /health answers once it listens.
 */
import { createServer } from "node:http";
import { createPubSub, createSchema, createYoga } from "graphql-yoga";
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { WebSocketServer } from "ws";
import { useServer } from "graphql-ws/use/ws";
import type { ExecutionArgs } from "graphql";
import { Redis } from "ioredis";

interface OrderEvent {
  eventId: string;
  orderId: string;
  customerId: string;
  occurredAt: string;
  totalCents: number;
}

const url = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const topic = `${process.env.CHANNEL_PREFIX ?? "peer"}:orderEvents`;
const pubSub = createPubSub<Record<string, [string, OrderEvent]>>({
  eventTarget: createRedisEventTarget({ publishClient: new Redis(url), subscribeClient: new Redis(url) }),
});

const yoga = createYoga({
  graphqlEndpoint: "/graphql",
  landingPage: false,
  graphiql: false,
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      type OrderEvent {
        eventId: ID!
        orderId: ID!
        customerId: ID!
        occurredAt: String!
        totalCents: Int!
      }
      type Query {
        ok: Boolean!
      }
      type Subscription {
        orderEvents(customerId: ID!): OrderEvent!
      }
    `,
    resolvers: {
      Query: { ok: () => true },
      Subscription: {
        orderEvents: {
          subscribe: (_: unknown, args: { customerId: string }) => pubSub.subscribe(topic, args.customerId),
          resolve: (event: OrderEvent) => event,
        },
      },
    },
  }),
});

const server = createServer(yoga);
const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint });
type Enveloped = { execute: (args: ExecutionArgs) => never; subscribe: (args: ExecutionArgs) => never };
useServer(
  {
    execute: (args) => (args.rootValue as Enveloped).execute(args),
    subscribe: (args) => (args.rootValue as Enveloped).subscribe(args),
    onSubscribe: async (ctx, _id, params) => {
      const { schema, execute, subscribe, contextFactory, parse, validate } = yoga.getEnveloped({
        ...ctx,
        req: ctx.extra.request,
        socket: ctx.extra.socket,
        params,
      });
      const args: ExecutionArgs = {
        schema,
        operationName: params.operationName,
        document: parse(params.query),
        variableValues: params.variables,
        contextValue: await contextFactory(),
        rootValue: { execute, subscribe },
      };
      const errors = validate(args.schema, args.document);
      return errors.length ? errors : args;
    },
  },
  wss,
);

server.listen(Number(process.env.PORT), process.env.HOST ?? "127.0.0.1");
process.on("SIGTERM", () => process.exit(0));
