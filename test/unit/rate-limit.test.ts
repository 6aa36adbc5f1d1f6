import { describe, expect, it } from "vitest";
import { fixedWindow } from "../../src/platform/graphql/rate-limit.ts";

describe("rate limit", () => {
  it("counts mutations in fixed windows: the window's index and the time until it resets", () => {
    expect(fixedWindow(125_000, 60_000)).toEqual({ index: 2, resetInMs: 55_000 });
  });
});
