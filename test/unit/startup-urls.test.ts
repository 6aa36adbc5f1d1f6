import { describe, expect, it } from "vitest";
import { describeUrls, startupUrls } from "../../src/startup-urls.ts";

describe("startup URLs", () => {
  it("names GraphQL, GraphiQL, the dashboard and metrics of the api, with a wildcard bind shown as localhost", () => {
    const urls = startupUrls({ host: "0.0.0.0", port: 4000, graphiql: true });
    expect(urls).toEqual({
      graphql: "http://localhost:4000/graphql",
      graphiql: "http://localhost:4000/graphql",
      dashboard: "http://localhost:4000/dashboard",
      metrics: "http://localhost:4000/metrics",
    });
    expect(describeUrls(urls)).toBe(
      "GraphQL + GraphiQL http://localhost:4000/graphql · dashboard http://localhost:4000/dashboard · metrics http://localhost:4000/metrics",
    );
  });

  it("leaves GraphiQL out when it is off, and gives a worker its health port's metrics", () => {
    expect(describeUrls(startupUrls({ host: "127.0.0.1", port: 8080, graphiql: false }))).toBe(
      "GraphQL http://127.0.0.1:8080/graphql · dashboard http://127.0.0.1:8080/dashboard · metrics http://127.0.0.1:8080/metrics",
    );
    expect(startupUrls({ host: "::", healthPort: 9090, graphiql: true })).toEqual({
      metrics: "http://localhost:9090/metrics",
    });
    expect(startupUrls({ host: "::1", port: 4000, graphiql: false }).graphql).toBe("http://[::1]:4000/graphql");
  });
});
