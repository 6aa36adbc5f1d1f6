import { describe, expect, it } from "vitest";
import { getOperationAST, parse } from "graphql";
import { fixedWindow, mutationFieldCount } from "../../src/platform/graphql/rate-limit.ts";

const count = (source: string) => {
  const document = parse(source);
  return mutationFieldCount(document, getOperationAST(document)!);
};

describe("rate limit", () => {
  it("counts mutations in fixed windows: the window's index and the time until it resets", () => {
    expect(fixedWindow(125_000, 60_000)).toEqual({ index: 2, resetInMs: 55_000 });
  });

  it("counts every root field the operation executes, through named and inline fragments", () => {
    expect(count(`mutation { a: m b: m __typename }`)).toBe(2);
    expect(
      count(`mutation { ...F ... on Mutation { c: m ... on Mutation { d: m } } } fragment F on Mutation { a: m b: m }`),
    ).toBe(4);
    // Same response key: graphql-js merges them into one execution. A fragment spread twice runs once.
    expect(count(`mutation { a: m a: m ...F ...F } fragment F on Mutation { b: m }`)).toBe(2);
    expect(count(`mutation { a: m @skip(if: true) }`)).toBe(1);
  });
});
