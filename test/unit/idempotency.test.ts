import { describe, expect, it } from "vitest";
import { requestHash } from "../../src/platform/idempotency/keys.ts";

describe("idempotency keys", () => {
  it("hashes requests independently of key order", () => {
    expect(requestHash("createOrder", { a: 1, b: [1, { c: 2, d: 3 }] })).toBe(
      requestHash("createOrder", { b: [1, { d: 3, c: 2 }], a: 1 }),
    );
    expect(requestHash("createOrder", { a: 1 })).not.toBe(requestHash("cancelOrder", { a: 1 }));
  });
});
