import { describe, expect, it } from "vitest";
import { priceOrder } from "../../src/modules/orders/pricing.ts";
import { AppError } from "../../src/platform/shared/errors.ts";

const prices = new Map([
  ["A", { priceCents: 250, currency: "EUR" }],
  ["B", { priceCents: 1_000, currency: "EUR" }],
  ["U", { priceCents: 300, currency: "USD" }],
  ["BIG", { priceCents: 2_000_000_000, currency: "EUR" }],
]);

const failure = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return err instanceof AppError ? { code: err.code, field: err.details.field, message: err.message } : err;
  }
  throw new Error("expected an error");
};

describe("priceOrder", () => {
  it("prices each line from the catalog and sums the total in minor units", () => {
    expect(
      priceOrder(
        [
          { sku: "A", quantity: 3 },
          { sku: "B", quantity: 1 },
        ],
        prices,
      ),
    ).toEqual({
      currency: "EUR",
      totalCents: 1_750,
      lines: [
        { sku: "A", quantity: 3, unitPriceCents: 250 },
        { sku: "B", quantity: 1, unitPriceCents: 1_000 },
      ],
    });
  });

  it("names the line with an unknown sku", () => {
    expect(
      failure(() =>
        priceOrder(
          [
            { sku: "A", quantity: 1 },
            { sku: "NOPE", quantity: 1 },
          ],
          prices,
        ),
      ),
    ).toMatchObject({ code: "BAD_USER_INPUT", field: "input.items[1].sku" });
  });

  it("refuses lines priced in another currency than the first", () => {
    expect(
      failure(() =>
        priceOrder(
          [
            { sku: "A", quantity: 1 },
            { sku: "U", quantity: 1 },
          ],
          prices,
        ),
      ),
    ).toMatchObject({ code: "BAD_USER_INPUT", field: "input.items[1].sku", message: expect.stringContaining("USD") });
  });

  it("refuses a total beyond a 32-bit integer, and accepts the largest that fits", () => {
    expect(failure(() => priceOrder([{ sku: "BIG", quantity: 2 }], prices))).toMatchObject({
      code: "BAD_USER_INPUT",
      field: "input.items",
    });
    expect(priceOrder([{ sku: "BIG", quantity: 1 }], prices).totalCents).toBe(2_000_000_000);
  });
});
