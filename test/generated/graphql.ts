/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type CreateOrderInput = {
  /** Admins only (required for them); a customer's orders are always its own. */
  customerId?: string | number | null | undefined;
  /** 1 to 50 lines, one per sku. */
  items: Array<OrderLineInput>;
};

export type EventStream =
  | 'INVENTORY'
  | 'ORDERS';

export type OrderEventType =
  | 'OrderCancelled'
  | 'OrderConfirmed'
  | 'OrderCreated'
  | 'OrderRejected';

export type OrderLineInput = {
  /** 1 to 1000 units. */
  quantity: number;
  sku: string;
};

/** PENDING until inventory answers; CONFIRMED or REJECTED then; CANCELLED on request. */
export type OrderStatus =
  | 'CANCELLED'
  | 'CONFIRMED'
  | 'PENDING'
  | 'REJECTED';

export type PlaceOrderMutationVariables = Exact<{
  input: CreateOrderInput;
  idempotencyKey?: string | null | undefined;
}>;


export type PlaceOrderMutation = { createOrder: { traceId: string, order: { id: string, customerId: string, status: OrderStatus, totalCents: number, currency: string } } };

export type CancelOrderMutationVariables = Exact<{
  id: string | number;
  reason?: string | null | undefined;
  idempotencyKey?: string | null | undefined;
}>;


export type CancelOrderMutation = { cancelOrder: { traceId: string, order: { id: string, status: OrderStatus, cancelReason: string | null } } };

export type OrderQueryVariables = Exact<{
  id: string | number;
}>;


export type OrderQuery = { order: { id: string, customerId: string, status: OrderStatus, totalCents: number, currency: string, rejectReason: string | null, cancelReason: string | null } | null };

export type OrdersQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  status?: OrderStatus | null | undefined;
  customerId?: string | number | null | undefined;
}>;


export type OrdersQuery = { orders: { edges: Array<{ cursor: string, node: { id: string, customerId: string, status: OrderStatus } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ProductsQueryVariables = Exact<{ [key: string]: never; }>;


export type ProductsQuery = { products: Array<{ sku: string, name: string, priceCents: number, currency: string, available: number }> };

export type RestockMutationVariables = Exact<{
  sku: string;
  quantity: number;
}>;


export type RestockMutation = { restock: { traceId: string, product: { sku: string, available: number } } };

export type OrderEventsSubscriptionVariables = Exact<{
  customerId?: string | number | null | undefined;
  orderId?: string | number | null | undefined;
  after?: string | null | undefined;
  types?: Array<OrderEventType> | OrderEventType | null | undefined;
}>;


export type OrderEventsSubscription = { orderEvents:
    | { __typename: 'OrderCancelled', eventId: string, eventType: string, orderId: string, customerId: string, occurredAt: string, traceId: string | null, cursor: string }
    | { __typename: 'OrderConfirmed', eventId: string, eventType: string, orderId: string, customerId: string, occurredAt: string, traceId: string | null, cursor: string }
    | { __typename: 'OrderCreated', totalCents: number, currency: string, eventId: string, eventType: string, orderId: string, customerId: string, occurredAt: string, traceId: string | null, cursor: string, items: Array<{ sku: string, quantity: number, unitPriceCents: number }> }
    | { __typename: 'OrderRejected', eventId: string, eventType: string, orderId: string, customerId: string, occurredAt: string, traceId: string | null, cursor: string }
   };

export type OrderHistoryQueryVariables = Exact<{
  orderId: string | number;
}>;


export type OrderHistoryQuery = { orderHistory: Array<
    | { __typename: 'OrderCancelled', eventId: string, eventType: string, orderId: string, cursor: string }
    | { __typename: 'OrderConfirmed', eventId: string, eventType: string, orderId: string, cursor: string }
    | { __typename: 'OrderCreated', eventId: string, eventType: string, orderId: string, cursor: string }
    | { __typename: 'OrderRejected', eventId: string, eventType: string, orderId: string, cursor: string }
  > };

export type DeadLettersQueryVariables = Exact<{
  stream: EventStream;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type DeadLettersQuery = { deadLetters: { hasNextPage: boolean, endCursor: string | null, edges: Array<{ cursor: string, node: { id: string, originalEntryId: string, group: string, consumer: string, deliveries: number, reason: string, error: string, eventType: string, aggregateId: string, envelope: string, failedAt: string } }> } };

export type ReplayDeadLetterMutationVariables = Exact<{
  id: string | number;
}>;


export type ReplayDeadLetterMutation = { replayDeadLetter: { id: string, eventType: string } };

export type DiscardDeadLetterMutationVariables = Exact<{
  id: string | number;
}>;


export type DiscardDeadLetterMutation = { discardDeadLetter: { id: string, reason: string } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}

export const PlaceOrderDocument = new TypedDocumentString(`
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
    `) as unknown as TypedDocumentString<PlaceOrderMutation, PlaceOrderMutationVariables>;
export const CancelOrderDocument = new TypedDocumentString(`
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
    `) as unknown as TypedDocumentString<CancelOrderMutation, CancelOrderMutationVariables>;
export const OrderDocument = new TypedDocumentString(`
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
    `) as unknown as TypedDocumentString<OrderQuery, OrderQueryVariables>;
export const OrdersDocument = new TypedDocumentString(`
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
    `) as unknown as TypedDocumentString<OrdersQuery, OrdersQueryVariables>;
export const ProductsDocument = new TypedDocumentString(`
    query Products {
  products {
    sku
    name
    priceCents
    currency
    available
  }
}
    `) as unknown as TypedDocumentString<ProductsQuery, ProductsQueryVariables>;
export const RestockDocument = new TypedDocumentString(`
    mutation Restock($sku: String!, $quantity: Int!) {
  restock(sku: $sku, quantity: $quantity) {
    traceId
    product {
      sku
      available
    }
  }
}
    `) as unknown as TypedDocumentString<RestockMutation, RestockMutationVariables>;
export const OrderEventsDocument = new TypedDocumentString(`
    subscription OrderEvents($customerId: ID, $orderId: ID, $after: String, $types: [OrderEventType!]) {
  orderEvents(
    customerId: $customerId
    orderId: $orderId
    after: $after
    types: $types
  ) {
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
    `) as unknown as TypedDocumentString<OrderEventsSubscription, OrderEventsSubscriptionVariables>;
export const OrderHistoryDocument = new TypedDocumentString(`
    query OrderHistory($orderId: ID!) {
  orderHistory(orderId: $orderId) {
    __typename
    eventId
    eventType
    orderId
    cursor
  }
}
    `) as unknown as TypedDocumentString<OrderHistoryQuery, OrderHistoryQueryVariables>;
export const DeadLettersDocument = new TypedDocumentString(`
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
    `) as unknown as TypedDocumentString<DeadLettersQuery, DeadLettersQueryVariables>;
export const ReplayDeadLetterDocument = new TypedDocumentString(`
    mutation ReplayDeadLetter($id: ID!) {
  replayDeadLetter(id: $id) {
    id
    eventType
  }
}
    `) as unknown as TypedDocumentString<ReplayDeadLetterMutation, ReplayDeadLetterMutationVariables>;
export const DiscardDeadLetterDocument = new TypedDocumentString(`
    mutation DiscardDeadLetter($id: ID!) {
  discardDeadLetter(id: $id) {
    id
    reason
  }
}
    `) as unknown as TypedDocumentString<DiscardDeadLetterMutation, DiscardDeadLetterMutationVariables>;