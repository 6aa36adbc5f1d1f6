/* eslint-disable */
import * as types from './graphql';



/**
 * Map of all GraphQL operations in the project.
 *
 * This map has several performance disadvantages:
 * 1. It is not tree-shakeable, so it will include all operations in the project.
 * 2. It is not minifiable, so the string of a GraphQL query will be multiple times inside the bundle.
 * 3. It does not support dead code elimination, so it will add unused operations.
 *
 * Therefore it is highly recommended to use the babel or swc plugin for production.
 * Learn more about it here: https://the-guild.dev/graphql/codegen/plugins/presets/preset-client#reducing-bundle-size
 */
type Documents = {
    "\n  mutation Place($input: CreateOrderInput!, $key: String) {\n    createOrder(input: $input, idempotencyKey: $key) {\n      traceId\n      order {\n        id\n        status\n      }\n    }\n  }\n": typeof types.PlaceDocument,
    "\n  subscription Feed($after: String) {\n    orderEvents(after: $after) {\n      __typename\n      orderId\n      customerId\n      occurredAt\n      cursor\n      ... on OrderCreated {\n        totalCents\n        currency\n      }\n      ... on OrderRejected {\n        reason\n      }\n      ... on OrderCancelled {\n        reason\n      }\n    }\n  }\n": typeof types.FeedDocument,
    "\n  query Recent {\n    orders(first: 25) {\n      edges {\n        node {\n          id\n          customerId\n          status\n          totalCents\n          currency\n          updatedAt\n          rejectReason\n          cancelReason\n        }\n      }\n    }\n  }\n": typeof types.RecentDocument,
    "\n  mutation Cancel($id: ID!) {\n    cancelOrder(id: $id, reason: \"cancelled from the dashboard\") {\n      order {\n        id\n        status\n      }\n    }\n  }\n": typeof types.CancelDocument,
    "\n  query Catalog {\n    products {\n      sku\n      name\n      priceCents\n      currency\n      available\n    }\n  }\n": typeof types.CatalogDocument,
    "\n  subscription Stock($sku: String!) {\n    stockLevel(sku: $sku) {\n      sku\n      available\n    }\n  }\n": typeof types.StockDocument,
    "\n  fragment DeadLetterRow on DeadLetter {\n    id\n    stream\n    group\n    reason\n    error\n    eventType\n    aggregateId\n    failedAt\n    deliveries\n  }\n": typeof types.DeadLetterRowFragmentDoc,
    "\n  query SystemStatus($minutes: Int) {\n    systemStatus {\n      outboxBacklog\n      outboxOldestAgeSeconds\n      consumerGroups {\n        group\n        stream\n        lag\n        pending\n      }\n      deadLetters {\n        stream\n        count\n      }\n      eventRate(minutes: $minutes) {\n        at\n        orders\n        inventory\n      }\n    }\n    orders: deadLetters(stream: ORDERS, first: 10) {\n      edges {\n        node {\n          ...DeadLetterRow\n        }\n      }\n    }\n    inventory: deadLetters(stream: INVENTORY, first: 10) {\n      edges {\n        node {\n          ...DeadLetterRow\n        }\n      }\n    }\n  }\n": typeof types.SystemStatusDocument,
    "\n    mutation Replay($id: ID!) {\n      replayDeadLetter(id: $id) {\n        id\n      }\n    }\n  ": typeof types.ReplayDocument,
    "\n    mutation Discard($id: ID!) {\n      discardDeadLetter(id: $id) {\n        id\n      }\n    }\n  ": typeof types.DiscardDocument,
};
const documents: Documents = {
    "\n  mutation Place($input: CreateOrderInput!, $key: String) {\n    createOrder(input: $input, idempotencyKey: $key) {\n      traceId\n      order {\n        id\n        status\n      }\n    }\n  }\n": types.PlaceDocument,
    "\n  subscription Feed($after: String) {\n    orderEvents(after: $after) {\n      __typename\n      orderId\n      customerId\n      occurredAt\n      cursor\n      ... on OrderCreated {\n        totalCents\n        currency\n      }\n      ... on OrderRejected {\n        reason\n      }\n      ... on OrderCancelled {\n        reason\n      }\n    }\n  }\n": types.FeedDocument,
    "\n  query Recent {\n    orders(first: 25) {\n      edges {\n        node {\n          id\n          customerId\n          status\n          totalCents\n          currency\n          updatedAt\n          rejectReason\n          cancelReason\n        }\n      }\n    }\n  }\n": types.RecentDocument,
    "\n  mutation Cancel($id: ID!) {\n    cancelOrder(id: $id, reason: \"cancelled from the dashboard\") {\n      order {\n        id\n        status\n      }\n    }\n  }\n": types.CancelDocument,
    "\n  query Catalog {\n    products {\n      sku\n      name\n      priceCents\n      currency\n      available\n    }\n  }\n": types.CatalogDocument,
    "\n  subscription Stock($sku: String!) {\n    stockLevel(sku: $sku) {\n      sku\n      available\n    }\n  }\n": types.StockDocument,
    "\n  fragment DeadLetterRow on DeadLetter {\n    id\n    stream\n    group\n    reason\n    error\n    eventType\n    aggregateId\n    failedAt\n    deliveries\n  }\n": types.DeadLetterRowFragmentDoc,
    "\n  query SystemStatus($minutes: Int) {\n    systemStatus {\n      outboxBacklog\n      outboxOldestAgeSeconds\n      consumerGroups {\n        group\n        stream\n        lag\n        pending\n      }\n      deadLetters {\n        stream\n        count\n      }\n      eventRate(minutes: $minutes) {\n        at\n        orders\n        inventory\n      }\n    }\n    orders: deadLetters(stream: ORDERS, first: 10) {\n      edges {\n        node {\n          ...DeadLetterRow\n        }\n      }\n    }\n    inventory: deadLetters(stream: INVENTORY, first: 10) {\n      edges {\n        node {\n          ...DeadLetterRow\n        }\n      }\n    }\n  }\n": types.SystemStatusDocument,
    "\n    mutation Replay($id: ID!) {\n      replayDeadLetter(id: $id) {\n        id\n      }\n    }\n  ": types.ReplayDocument,
    "\n    mutation Discard($id: ID!) {\n      discardDeadLetter(id: $id) {\n        id\n      }\n    }\n  ": types.DiscardDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Place($input: CreateOrderInput!, $key: String) {\n    createOrder(input: $input, idempotencyKey: $key) {\n      traceId\n      order {\n        id\n        status\n      }\n    }\n  }\n"): typeof import('./graphql').PlaceDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Feed($after: String) {\n    orderEvents(after: $after) {\n      __typename\n      orderId\n      customerId\n      occurredAt\n      cursor\n      ... on OrderCreated {\n        totalCents\n        currency\n      }\n      ... on OrderRejected {\n        reason\n      }\n      ... on OrderCancelled {\n        reason\n      }\n    }\n  }\n"): typeof import('./graphql').FeedDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Recent {\n    orders(first: 25) {\n      edges {\n        node {\n          id\n          customerId\n          status\n          totalCents\n          currency\n          updatedAt\n          rejectReason\n          cancelReason\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').RecentDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Cancel($id: ID!) {\n    cancelOrder(id: $id, reason: \"cancelled from the dashboard\") {\n      order {\n        id\n        status\n      }\n    }\n  }\n"): typeof import('./graphql').CancelDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Catalog {\n    products {\n      sku\n      name\n      priceCents\n      currency\n      available\n    }\n  }\n"): typeof import('./graphql').CatalogDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription Stock($sku: String!) {\n    stockLevel(sku: $sku) {\n      sku\n      available\n    }\n  }\n"): typeof import('./graphql').StockDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  fragment DeadLetterRow on DeadLetter {\n    id\n    stream\n    group\n    reason\n    error\n    eventType\n    aggregateId\n    failedAt\n    deliveries\n  }\n"): typeof import('./graphql').DeadLetterRowFragmentDoc;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query SystemStatus($minutes: Int) {\n    systemStatus {\n      outboxBacklog\n      outboxOldestAgeSeconds\n      consumerGroups {\n        group\n        stream\n        lag\n        pending\n      }\n      deadLetters {\n        stream\n        count\n      }\n      eventRate(minutes: $minutes) {\n        at\n        orders\n        inventory\n      }\n    }\n    orders: deadLetters(stream: ORDERS, first: 10) {\n      edges {\n        node {\n          ...DeadLetterRow\n        }\n      }\n    }\n    inventory: deadLetters(stream: INVENTORY, first: 10) {\n      edges {\n        node {\n          ...DeadLetterRow\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').SystemStatusDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n    mutation Replay($id: ID!) {\n      replayDeadLetter(id: $id) {\n        id\n      }\n    }\n  "): typeof import('./graphql').ReplayDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n    mutation Discard($id: ID!) {\n      discardDeadLetter(id: $id) {\n        id\n      }\n    }\n  "): typeof import('./graphql').DiscardDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
