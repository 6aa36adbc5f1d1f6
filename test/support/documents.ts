/**
 * The GraphQL operations tests send again and again, and placeOrder(). Their types are generated from
 * schema.graphql (`npm run codegen` writes test/generated/; test/unit/codegen.test.ts fails when it is stale).
 * A test that checks something about the document itself (its operation name, its size, a field
 * selection it compares with another read) keeps its own (`typed()` in graphql-clients.ts).
 */
import { dataOf, gql } from "./graphql-clients.ts";
import { graphql } from "../generated/gql.ts";

export type OrderStatus = "PENDING" | "CONFIRMED" | "REJECTED" | "CANCELLED";
export type OrderEventType = "OrderCreated" | "OrderConfirmed" | "OrderRejected" | "OrderCancelled";
export type EventStream = "ORDERS" | "INVENTORY";

export interface OrderLine {
  sku: string;
  quantity: number;
}

/** CreateOrderInput. A customer's token implies its customerId; an admin must name one. */
export interface OrderInput {
  customerId?: string;
  items: OrderLine[];
}

export interface OrderSummary {
  id: string;
  customerId: string;
  status: OrderStatus;
  totalCents: number;
  currency: string;
}

export interface CreatedOrder {
  traceId: string;
  order: OrderSummary;
}

/** Named PlaceOrder: observability tests find it by that name in metrics. */
export const CREATE_ORDER = graphql(`
  mutation PlaceOrder($input: CreateOrderInput!, $idempotencyKey: String) {
    createOrder(input: $input, idempotencyKey: $idempotencyKey) {
      traceId
      order {
        id
        customerId
        status
        totalCents
        currency
      }
    }
  }
`);

export const CANCEL_ORDER = graphql(`
  mutation CancelOrder($id: ID!, $reason: String, $idempotencyKey: String) {
    cancelOrder(id: $id, reason: $reason, idempotencyKey: $idempotencyKey) {
      traceId
      order {
        id
        status
        cancelReason
      }
    }
  }
`);

export const ORDER = graphql(`
  query Order($id: ID!) {
    order(id: $id) {
      id
      customerId
      status
      totalCents
      currency
      rejectReason
      cancelReason
    }
  }
`);

export const ORDERS = graphql(`
  query Orders($first: Int, $after: String, $status: OrderStatus, $customerId: ID) {
    orders(first: $first, after: $after, status: $status, customerId: $customerId) {
      edges {
        cursor
        node {
          id
          customerId
          status
        }
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);

export interface Product {
  sku: string;
  name: string;
  priceCents: number;
  currency: string;
  available: number;
}

export const PRODUCTS = graphql(`
  query Products {
    products {
      sku
      name
      priceCents
      currency
      available
    }
  }
`);

export const RESTOCK = graphql(`
  mutation Restock($sku: String!, $quantity: Int!) {
    restock(sku: $sku, quantity: $quantity) {
      traceId
      product {
        sku
        available
      }
    }
  }
`);

export interface OrderEvent {
  __typename: OrderEventType;
  eventId: string;
  eventType: OrderEventType;
  orderId: string;
  customerId: string;
  occurredAt: string;
  traceId: string | null;
  cursor: string;
  /** OrderCreated only. */
  totalCents?: number;
  currency?: string;
  items?: (OrderLine & { unitPriceCents: number })[];
}

/** Every filter is optional: a variable left out is an argument not given. */
export const ORDER_EVENTS = graphql(`
  subscription OrderEvents($customerId: ID, $orderId: ID, $after: String, $types: [OrderEventType!]) {
    orderEvents(customerId: $customerId, orderId: $orderId, after: $after, types: $types) {
      __typename
      eventId
      eventType
      orderId
      customerId
      occurredAt
      traceId
      cursor
      ... on OrderCreated {
        totalCents
        currency
        items {
          sku
          quantity
          unitPriceCents
        }
      }
    }
  }
`);

export const ORDER_HISTORY = graphql(`
  query OrderHistory($orderId: ID!) {
    orderHistory(orderId: $orderId) {
      __typename
      eventId
      eventType
      orderId
      cursor
    }
  }
`);

export interface DeadLetter {
  id: string;
  originalEntryId: string;
  group: string;
  consumer: string;
  deliveries: number;
  reason: string;
  error: string;
  eventType: string;
  aggregateId: string;
  envelope: string;
  failedAt: string;
}

export const DEAD_LETTERS = graphql(`
  query DeadLetters($stream: EventStream!, $first: Int, $after: String) {
    deadLetters(stream: $stream, first: $first, after: $after) {
      edges {
        cursor
        node {
          id
          originalEntryId
          group
          consumer
          deliveries
          reason
          error
          eventType
          aggregateId
          envelope
          failedAt
        }
      }
      hasNextPage
      endCursor
    }
  }
`);

export const REPLAY_DEAD_LETTER = graphql(`
  mutation ReplayDeadLetter($id: ID!) {
    replayDeadLetter(id: $id) {
      id
      eventType
    }
  }
`);

export const DISCARD_DEAD_LETTER = graphql(`
  mutation DiscardDeadLetter($id: ID!) {
    discardDeadLetter(id: $id) {
      id
      reason
    }
  }
`);

export interface PlaceOrderOptions {
  idempotencyKey?: string;
  /** Extra request headers: `bearer(token)` to act as a customer, `traceparent`, … */
  headers?: Record<string, string>;
  /**
   * Tries in all while the response has errors (same idempotency key each time); 1 by default. With
   * an idempotency key a request that got no response at all (a reset keep-alive connection) is
   * tried again too: the key makes that safe.
   */
  attempts?: number;
}

/** Places an order through the API (as the admin unless `headers` says otherwise); throws with the errors' messages if it is refused. */
export async function placeOrder(port: number, input: OrderInput, opts: PlaceOrderOptions = {}): Promise<CreatedOrder> {
  const variables = { input, ...(opts.idempotencyKey === undefined ? {} : { idempotencyKey: opts.idempotencyKey }) };
  const attempts = opts.attempts ?? 1;
  const send = (attempt: number): ReturnType<typeof gql<typeof CREATE_ORDER>> =>
    gql(port, CREATE_ORDER, variables, opts.headers).catch((err: unknown) => {
      if (opts.idempotencyKey === undefined || attempt + 1 >= attempts) throw err;
      return send(attempt + 1);
    });
  let res = await send(0);
  for (let attempt = 1; res.errors && attempt < attempts; attempt++) res = await send(attempt);
  return dataOf(res).createOrder;
}
