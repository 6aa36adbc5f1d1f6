import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { GraphQLObjectType } from "graphql";
import { printedSchema, schema } from "../../src/schema.ts";

describe("schema.graphql", () => {
  it("is up to date with the code (run `npm run schema:print` after changing the API)", () => {
    const committed = readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8");
    expect(committed).toBe(printedSchema());
  });

  it("keeps the public contract", () => {
    // Argument lists sorted by name, as in the (sorted) SDL.
    const signature = (type: "Query" | "Mutation" | "Subscription", name: string) => {
      const field = (schema.getType(type) as GraphQLObjectType).getFields()[name];
      if (!field) return undefined;
      const args = field.args.map((a) => `${a.name}: ${a.type}`).sort();
      return `${name}(${args.join(", ")}): ${field.type}`;
    };
    expect(signature("Query", "products")).toBe("products(): [Product!]!");
    expect(signature("Query", "order")).toBe("order(id: ID!): Order");
    expect(signature("Query", "orders")).toBe(
      "orders(after: String, before: String, customerId: ID, first: Int, last: Int, status: OrderStatus): OrderConnection!",
    );
    expect(signature("Query", "orderHistory")).toBe("orderHistory(orderId: ID!): [OrderEvent!]!");
    expect(signature("Query", "inventoryHistory")).toBe(
      "inventoryHistory(last: Int, sku: String!): [InventoryEvent!]!",
    );
    expect(signature("Mutation", "createOrder")).toBe(
      "createOrder(idempotencyKey: String, input: CreateOrderInput!): CreateOrderPayload!",
    );
    expect(signature("Mutation", "cancelOrder")).toBe(
      "cancelOrder(id: ID!, idempotencyKey: String, reason: String): CancelOrderPayload!",
    );
    expect(signature("Mutation", "restock")).toBe("restock(quantity: Int!, sku: String!): RestockPayload!");
    expect(signature("Subscription", "orderEvents")).toBe(
      "orderEvents(after: String, customerId: ID, orderId: ID, types: [OrderEventType!]): OrderEvent!",
    );
    expect(signature("Subscription", "inventoryEvents")).toBe(
      "inventoryEvents(after: String, orderId: ID, sku: String, types: [InventoryEventType!]): InventoryEvent!",
    );
    expect(signature("Subscription", "orderUpdated")).toBe("orderUpdated(after: String, id: ID!): Order!");
    expect(signature("Subscription", "stockLevel")).toBe("stockLevel(after: String, sku: String!): Product!");
  });
});
