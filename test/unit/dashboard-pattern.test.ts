import { describe, expect, it } from "vitest";
import { CUSTOMER_ID_PATTERN } from "../../src/dashboard/order-form.ts";
import { subjectIdSchema } from "../../src/platform/shared/ids.ts";

describe("dashboard customer-id pattern", () => {
  it("compiles the way browsers compile `pattern` (the v flag), where the old one did not", () => {
    // HTML: the pattern matches the whole value, compiled as ^(?:pattern)$ with the v flag.
    const asBrowser = (p: string) => new RegExp(`^(?:${p})$`, "v");
    expect(() => asBrowser(CUSTOMER_ID_PATTERN)).not.toThrow();
    expect(() => asBrowser("[A-Za-z0-9_.:-]{1,64}")).toThrow(SyntaxError); // the pattern it replaced
  });

  it("accepts exactly the ids the API accepts", () => {
    const re = new RegExp(`^(?:${CUSTOMER_ID_PATTERN})$`, "v");
    for (const id of ["c1", "a.b_c:d-e", "ann@example", "x".repeat(64), "x".repeat(65), "c 1", "", "c/1", "ç1", "c-"]) {
      expect(re.test(id), id).toBe(subjectIdSchema.safeParse(id).success);
    }
  });
});
