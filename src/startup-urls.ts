/** The addresses a person opens after `npm start`, printed once the roles are up. */
export interface StartupUrls {
  graphql?: string;
  graphiql?: string;
  dashboard?: string;
  metrics: string;
}

export function startupUrls(o: { host: string; port?: number; healthPort?: number; graphiql: boolean }): StartupUrls {
  // A wildcard bind address is not something to type into a browser.
  const host = ["", "0.0.0.0", "::", "[::]"].includes(o.host)
    ? "localhost"
    : o.host.includes(":")
      ? `[${o.host}]`
      : o.host;
  if (o.port === undefined) return { metrics: `http://${host}:${o.healthPort}/metrics` };
  const base = `http://${host}:${o.port}`;
  return {
    graphql: `${base}/graphql`,
    ...(o.graphiql ? { graphiql: `${base}/graphql` } : {}),
    dashboard: `${base}/dashboard`,
    metrics: `${base}/metrics`,
  };
}

/** One line: "GraphQL http://… · GraphiQL http://… · dashboard http://… · metrics http://…". */
export function describeUrls(urls: StartupUrls): string {
  const parts: string[] = [];
  if (urls.graphql)
    parts.push(urls.graphiql === urls.graphql ? `GraphQL + GraphiQL ${urls.graphql}` : `GraphQL ${urls.graphql}`);
  if (urls.dashboard) parts.push(`dashboard ${urls.dashboard}`);
  parts.push(`metrics ${urls.metrics}`);
  return parts.join(" · ");
}
