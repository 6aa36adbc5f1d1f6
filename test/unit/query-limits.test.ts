import { describe, expect, it } from "vitest";
import { parse } from "graphql";
import { fieldCount, repeatedField } from "../../src/platform/graphql/limits.ts";

describe("validation cost bounds", () => {
  it("finds a response name selected too often in one selection set, through fragments", () => {
    const times = (n: number, s: string) => Array.from({ length: n }, () => s).join(" ");
    expect(repeatedField(parse(`{ ${times(5, "products { sku }")} }`), 5)).toBeNull();
    expect(repeatedField(parse(`{ ${times(6, "products { sku }")} }`), 5)).toBe("products");
    expect(repeatedField(parse(`{ ${times(6, "... { __typename }")} }`), 5)).toBe("__typename");
    expect(repeatedField(parse(`{ products { ${times(6, "sku")} } }`), 5)).toBe("sku");
    expect(repeatedField(parse(`{ ...F } fragment F on Query { ${times(3, "a")} ... { ${times(3, "a")} } }`), 5)).toBe(
      "a",
    );
    // A fragment spread twice is collected once; different aliases are different names.
    expect(repeatedField(parse(`{ ${times(9, "...F")} } fragment F on Query { a b }`), 5)).toBeNull();
    expect(repeatedField(parse(`{ a1: a a2: a a3: a a4: a a5: a a6: a }`), 5)).toBeNull();
  });

  it("counts the field selections written in a document", () => {
    expect(fieldCount(parse(`{ a { b c } ...F } fragment F on Query { d }`))).toBe(4);
  });
});
