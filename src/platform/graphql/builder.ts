import SchemaBuilder from "@pothos/core";
import PrismaPlugin from "@pothos/plugin-prisma";
import RelayPlugin from "@pothos/plugin-relay";
import ScopeAuthPlugin from "@pothos/plugin-scope-auth";
import { AppError } from "../shared/errors.ts";
import { isAdmin, mayActFor } from "../auth/principal.ts";
import type PrismaTypes from "../../generated/pothos-prisma-types.ts";
import { getDatamodel } from "../../generated/pothos-prisma-types.ts";
import type { Context } from "./context.ts";

function newBuilder() {
  return new SchemaBuilder<{
    PrismaTypes: PrismaTypes;
    Context: Context;
    DefaultFieldNullability: false;
    Scalars: { DateTime: { Input: Date; Output: Date | string } };
    AuthScopes: {
      /** Any verified token. */
      signedIn: boolean;
      admin: boolean;
      /** The viewer may act for this customer id: its own (customer) or any (admin). */
      actsFor: string;
    };
  }>({
    // Scope-auth first, so its checks wrap every other plugin's resolvers.
    plugins: [ScopeAuthPlugin, PrismaPlugin, RelayPlugin],
    scopeAuth: {
      // Field scopes are checked when a subscription starts; type scopes (Order, OrderEvent) on every event.
      authorizeOnSubscribe: true,
      authScopes: (ctx) => ({
        signedIn: ctx.viewer !== null,
        admin: isAdmin(ctx.viewer),
        actsFor: (customerId) => mayActFor(ctx.viewer, customerId),
      }),
      unauthorizedError: (_parent, ctx, info) =>
        ctx.viewer
          ? new AppError(
              "FORBIDDEN",
              `not allowed: ${info.parentType.name}.${info.fieldName} belongs to someone else or needs the admin role`,
            )
          : new AppError(
              "UNAUTHENTICATED",
              `not authenticated: ${info.parentType.name}.${info.fieldName} needs a bearer token`,
              { extensions: { http: { status: 401 } } },
            ),
    },
    defaultFieldNullability: false,
    prisma: {
      // Resolved per request: the schema is built (and printed) without a database.
      client: (ctx) => ctx.prisma,
      dmmf: getDatamodel(),
      exposeDescriptions: true,
      filterConnectionTotalCount: true,
    },
    relay: {
      clientMutationId: "omit",
      cursorType: "String",
      nodeQueryOptions: false,
      nodesQueryOptions: false,
    },
  });
}

export type Builder = ReturnType<typeof newBuilder>;

/**
 * A schema builder with the platform's plugins, auth scopes and root types; the modules and the
 * admin fields register on it (see src/schema.ts).
 */
export function createBuilder(): Builder {
  const builder = newBuilder();
  builder.queryType({});
  builder.mutationType({});
  builder.subscriptionType({});

  builder.scalarType("DateTime", {
    description: "An instant as an ISO-8601 string in UTC, e.g. 2026-11-25T10:00:00.000Z",
    serialize: (value) => (value instanceof Date ? value.toISOString() : new Date(value).toISOString()),
    parseValue: (value) => {
      const date = typeof value === "string" ? new Date(value) : new Date(NaN);
      if (Number.isNaN(date.getTime())) throw new TypeError("DateTime must be an ISO-8601 string");
      return date;
    },
  });
  return builder;
}
