/**
 * Apollo Client: a terminating link over graphql-ws whose subscriptions resume from their last cursor after a
 * reconnect, a server restart or a slow-subscriber cut-off (README: Resuming with Apollo Client). It replaces
 * GraphQLWsLink; the resuming is resume-core.ts, shared with the other helpers.
 */
import { ApolloLink } from "@apollo/client";
import { CombinedGraphQLErrors } from "@apollo/client/errors";
import { print } from "graphql";
import type { FormattedExecutionResult } from "graphql";
import type { Client } from "graphql-ws";
import { Observable } from "rxjs";
import { resumeOverWs, type ResumeOptions } from "./resume-core.ts";

export class ResumingWsLink extends ApolloLink {
  constructor(
    readonly client: Client,
    readonly options: Omit<ResumeOptions<unknown>, "after"> = {},
  ) {
    super();
  }

  override request(operation: ApolloLink.Operation): Observable<ApolloLink.Result> {
    return new Observable<ApolloLink.Result>((observer) => {
      const { query, variables, operationName, extensions } = operation;
      const request = { query: print(query), variables, operationName, extensions };
      const sink = {
        next: (result: FormattedExecutionResult) => observer.next(result as ApolloLink.Result),
        error: (errors: unknown) =>
          observer.error(Array.isArray(errors) ? new CombinedGraphQLErrors({ errors }) : (errors as Error)),
        complete: () => observer.complete(),
      };
      // Queries and mutations pass through graphql-ws as they are; only subscriptions carry a cursor to resume from.
      if (operation.operationType !== "subscription") return this.client.subscribe(request, sink);
      const handle = resumeOverWs(this.client, request, sink, this.options);
      return () => handle.dispose();
    });
  }
}
