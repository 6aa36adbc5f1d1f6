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
    "\n  mutation PlaceOrder($input: CreateOrderInput!, $idempotencyKey: String) {\n    createOrder(input: $input, idempotencyKey: $idempotencyKey) {\n      traceId\n      order {\n        id\n        customerId\n        status\n        totalCents\n        currency\n      }\n    }\n  }\n": typeof types.PlaceOrderDocument,
    "\n  mutation CancelOrder($id: ID!, $reason: String, $idempotencyKey: String) {\n    cancelOrder(id: $id, reason: $reason, idempotencyKey: $idempotencyKey) {\n      traceId\n      order {\n        id\n        status\n        cancelReason\n      }\n    }\n  }\n": typeof types.CancelOrderDocument,
    "\n  query Order($id: ID!) {\n    order(id: $id) {\n      id\n      customerId\n      status\n      totalCents\n      currency\n      rejectReason\n      cancelReason\n    }\n  }\n": typeof types.OrderDocument,
    "\n  query Orders($first: Int, $after: String, $status: OrderStatus, $customerId: ID) {\n    orders(first: $first, after: $after, status: $status, customerId: $customerId) {\n      edges {\n        cursor\n        node {\n          id\n          customerId\n          status\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": typeof types.OrdersDocument,
    "\n  query Products {\n    products {\n      sku\n      name\n      priceCents\n      currency\n      available\n    }\n  }\n": typeof types.ProductsDocument,
    "\n  mutation Restock($sku: String!, $quantity: Int!) {\n    restock(sku: $sku, quantity: $quantity) {\n      traceId\n      product {\n        sku\n        available\n      }\n    }\n  }\n": typeof types.RestockDocument,
    "\n  subscription OrderEvents($customerId: ID, $orderId: ID, $after: String, $types: [OrderEventType!]) {\n    orderEvents(customerId: $customerId, orderId: $orderId, after: $after, types: $types) {\n      __typename\n      eventId\n      eventType\n      orderId\n      customerId\n      occurredAt\n      traceId\n      cursor\n      ... on OrderCreated {\n        totalCents\n        currency\n        items {\n          sku\n          quantity\n          unitPriceCents\n        }\n      }\n    }\n  }\n": typeof types.OrderEventsDocument,
    "\n  query OrderHistory($orderId: ID!) {\n    orderHistory(orderId: $orderId) {\n      __typename\n      eventId\n      eventType\n      orderId\n      cursor\n    }\n  }\n": typeof types.OrderHistoryDocument,
    "\n  query DeadLetters($stream: EventStream!, $first: Int, $after: String) {\n    deadLetters(stream: $stream, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          originalEntryId\n          group\n          consumer\n          deliveries\n          reason\n          error\n          eventType\n          aggregateId\n          envelope\n          failedAt\n        }\n      }\n      hasNextPage\n      endCursor\n    }\n  }\n": typeof types.DeadLettersDocument,
    "\n  mutation ReplayDeadLetter($id: ID!) {\n    replayDeadLetter(id: $id) {\n      id\n      eventType\n    }\n  }\n": typeof types.ReplayDeadLetterDocument,
    "\n  mutation DiscardDeadLetter($id: ID!) {\n    discardDeadLetter(id: $id) {\n      id\n      reason\n    }\n  }\n": typeof types.DiscardDeadLetterDocument,
};
const documents: Documents = {
    "\n  mutation PlaceOrder($input: CreateOrderInput!, $idempotencyKey: String) {\n    createOrder(input: $input, idempotencyKey: $idempotencyKey) {\n      traceId\n      order {\n        id\n        customerId\n        status\n        totalCents\n        currency\n      }\n    }\n  }\n": types.PlaceOrderDocument,
    "\n  mutation CancelOrder($id: ID!, $reason: String, $idempotencyKey: String) {\n    cancelOrder(id: $id, reason: $reason, idempotencyKey: $idempotencyKey) {\n      traceId\n      order {\n        id\n        status\n        cancelReason\n      }\n    }\n  }\n": types.CancelOrderDocument,
    "\n  query Order($id: ID!) {\n    order(id: $id) {\n      id\n      customerId\n      status\n      totalCents\n      currency\n      rejectReason\n      cancelReason\n    }\n  }\n": types.OrderDocument,
    "\n  query Orders($first: Int, $after: String, $status: OrderStatus, $customerId: ID) {\n    orders(first: $first, after: $after, status: $status, customerId: $customerId) {\n      edges {\n        cursor\n        node {\n          id\n          customerId\n          status\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n": types.OrdersDocument,
    "\n  query Products {\n    products {\n      sku\n      name\n      priceCents\n      currency\n      available\n    }\n  }\n": types.ProductsDocument,
    "\n  mutation Restock($sku: String!, $quantity: Int!) {\n    restock(sku: $sku, quantity: $quantity) {\n      traceId\n      product {\n        sku\n        available\n      }\n    }\n  }\n": types.RestockDocument,
    "\n  subscription OrderEvents($customerId: ID, $orderId: ID, $after: String, $types: [OrderEventType!]) {\n    orderEvents(customerId: $customerId, orderId: $orderId, after: $after, types: $types) {\n      __typename\n      eventId\n      eventType\n      orderId\n      customerId\n      occurredAt\n      traceId\n      cursor\n      ... on OrderCreated {\n        totalCents\n        currency\n        items {\n          sku\n          quantity\n          unitPriceCents\n        }\n      }\n    }\n  }\n": types.OrderEventsDocument,
    "\n  query OrderHistory($orderId: ID!) {\n    orderHistory(orderId: $orderId) {\n      __typename\n      eventId\n      eventType\n      orderId\n      cursor\n    }\n  }\n": types.OrderHistoryDocument,
    "\n  query DeadLetters($stream: EventStream!, $first: Int, $after: String) {\n    deadLetters(stream: $stream, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          originalEntryId\n          group\n          consumer\n          deliveries\n          reason\n          error\n          eventType\n          aggregateId\n          envelope\n          failedAt\n        }\n      }\n      hasNextPage\n      endCursor\n    }\n  }\n": types.DeadLettersDocument,
    "\n  mutation ReplayDeadLetter($id: ID!) {\n    replayDeadLetter(id: $id) {\n      id\n      eventType\n    }\n  }\n": types.ReplayDeadLetterDocument,
    "\n  mutation DiscardDeadLetter($id: ID!) {\n    discardDeadLetter(id: $id) {\n      id\n      reason\n    }\n  }\n": types.DiscardDeadLetterDocument,
};

/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation PlaceOrder($input: CreateOrderInput!, $idempotencyKey: String) {\n    createOrder(input: $input, idempotencyKey: $idempotencyKey) {\n      traceId\n      order {\n        id\n        customerId\n        status\n        totalCents\n        currency\n      }\n    }\n  }\n"): typeof import('./graphql').PlaceOrderDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation CancelOrder($id: ID!, $reason: String, $idempotencyKey: String) {\n    cancelOrder(id: $id, reason: $reason, idempotencyKey: $idempotencyKey) {\n      traceId\n      order {\n        id\n        status\n        cancelReason\n      }\n    }\n  }\n"): typeof import('./graphql').CancelOrderDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Order($id: ID!) {\n    order(id: $id) {\n      id\n      customerId\n      status\n      totalCents\n      currency\n      rejectReason\n      cancelReason\n    }\n  }\n"): typeof import('./graphql').OrderDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Orders($first: Int, $after: String, $status: OrderStatus, $customerId: ID) {\n    orders(first: $first, after: $after, status: $status, customerId: $customerId) {\n      edges {\n        cursor\n        node {\n          id\n          customerId\n          status\n        }\n      }\n      pageInfo {\n        hasNextPage\n        endCursor\n      }\n    }\n  }\n"): typeof import('./graphql').OrdersDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query Products {\n    products {\n      sku\n      name\n      priceCents\n      currency\n      available\n    }\n  }\n"): typeof import('./graphql').ProductsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation Restock($sku: String!, $quantity: Int!) {\n    restock(sku: $sku, quantity: $quantity) {\n      traceId\n      product {\n        sku\n        available\n      }\n    }\n  }\n"): typeof import('./graphql').RestockDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  subscription OrderEvents($customerId: ID, $orderId: ID, $after: String, $types: [OrderEventType!]) {\n    orderEvents(customerId: $customerId, orderId: $orderId, after: $after, types: $types) {\n      __typename\n      eventId\n      eventType\n      orderId\n      customerId\n      occurredAt\n      traceId\n      cursor\n      ... on OrderCreated {\n        totalCents\n        currency\n        items {\n          sku\n          quantity\n          unitPriceCents\n        }\n      }\n    }\n  }\n"): typeof import('./graphql').OrderEventsDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query OrderHistory($orderId: ID!) {\n    orderHistory(orderId: $orderId) {\n      __typename\n      eventId\n      eventType\n      orderId\n      cursor\n    }\n  }\n"): typeof import('./graphql').OrderHistoryDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  query DeadLetters($stream: EventStream!, $first: Int, $after: String) {\n    deadLetters(stream: $stream, first: $first, after: $after) {\n      edges {\n        cursor\n        node {\n          id\n          originalEntryId\n          group\n          consumer\n          deliveries\n          reason\n          error\n          eventType\n          aggregateId\n          envelope\n          failedAt\n        }\n      }\n      hasNextPage\n      endCursor\n    }\n  }\n"): typeof import('./graphql').DeadLettersDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation ReplayDeadLetter($id: ID!) {\n    replayDeadLetter(id: $id) {\n      id\n      eventType\n    }\n  }\n"): typeof import('./graphql').ReplayDeadLetterDocument;
/**
 * The graphql function is used to parse GraphQL queries into a document that can be used by GraphQL clients.
 */
export function graphql(source: "\n  mutation DiscardDeadLetter($id: ID!) {\n    discardDeadLetter(id: $id) {\n      id\n      reason\n    }\n  }\n"): typeof import('./graphql').DiscardDeadLetterDocument;


export function graphql(source: string) {
  return (documents as any)[source] ?? {};
}
