import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { printedSchema } from "../src/graphql/schema.ts";

describe("schema.graphql", () => {
  it("is up to date with the code (run `npm run schema:print` after changing the API)", () => {
    const committed = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");
    expect(committed).toBe(printedSchema());
  });

  it("keeps the public contract", () => {
    const sdl = printedSchema();
    for (const line of [
      "products: [Product!]!",
      "order(id: ID!): Order",
      "orders(after: String, before: String, first: Int, last: Int, status: OrderStatus): OrderConnection!",
      "createOrder(input: CreateOrderInput!): CreateOrderPayload!",
      "orderEvents(customerId: ID, orderId: ID): OrderEvent!",
    ]) expect(sdl).toContain(line);
  });
});
