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

export type PlaceMutationVariables = Exact<{
  input: CreateOrderInput;
  key?: string | null | undefined;
}>;


export type PlaceMutation = { createOrder: { traceId: string, order: { id: string, status: OrderStatus } } };

export type FeedSubscriptionVariables = Exact<{
  after?: string | null | undefined;
}>;


export type FeedSubscription = { orderEvents:
    | { __typename: 'OrderCancelled', reason: string, orderId: string, customerId: string, occurredAt: string, cursor: string }
    | { __typename: 'OrderConfirmed', orderId: string, customerId: string, occurredAt: string, cursor: string }
    | { __typename: 'OrderCreated', totalCents: number, currency: string, orderId: string, customerId: string, occurredAt: string, cursor: string }
    | { __typename: 'OrderRejected', reason: string, orderId: string, customerId: string, occurredAt: string, cursor: string }
   };

export type RecentQueryVariables = Exact<{ [key: string]: never; }>;


export type RecentQuery = { orders: { edges: Array<{ node: { id: string, customerId: string, status: OrderStatus, totalCents: number, currency: string, updatedAt: string, rejectReason: string | null, cancelReason: string | null } }> } };

export type CancelMutationVariables = Exact<{
  id: string | number;
}>;


export type CancelMutation = { cancelOrder: { order: { id: string, status: OrderStatus } } };

export type CatalogQueryVariables = Exact<{ [key: string]: never; }>;


export type CatalogQuery = { products: Array<{ sku: string, name: string, priceCents: number, currency: string, available: number }> };

export type StockSubscriptionVariables = Exact<{
  sku: string;
}>;


export type StockSubscription = { stockLevel: { sku: string, available: number } };

export type DeadLetterRowFragment = { id: string, stream: EventStream, group: string, reason: string, error: string, eventType: string, aggregateId: string, failedAt: string, deliveries: number };

export type SystemStatusQueryVariables = Exact<{
  minutes?: number | null | undefined;
}>;


export type SystemStatusQuery = { systemStatus: { outboxBacklog: number | null, outboxOldestAgeSeconds: number | null, consumerGroups: Array<{ group: string, stream: string, lag: number | null, pending: number }>, deadLetters: Array<{ stream: EventStream, count: number }>, eventRate: Array<{ at: string, orders: number, inventory: number }> }, orders: { edges: Array<{ node: { id: string, stream: EventStream, group: string, reason: string, error: string, eventType: string, aggregateId: string, failedAt: string, deliveries: number } }> }, inventory: { edges: Array<{ node: { id: string, stream: EventStream, group: string, reason: string, error: string, eventType: string, aggregateId: string, failedAt: string, deliveries: number } }> } };

export type ReplayMutationVariables = Exact<{
  id: string | number;
}>;


export type ReplayMutation = { replayDeadLetter: { id: string } };

export type DiscardMutationVariables = Exact<{
  id: string | number;
}>;


export type DiscardMutation = { discardDeadLetter: { id: string } };

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
export const DeadLetterRowFragmentDoc = new TypedDocumentString(`
    fragment DeadLetterRow on DeadLetter {
  id
  stream
  group
  reason
  error
  eventType
  aggregateId
  failedAt
  deliveries
}
    `, {"fragmentName":"DeadLetterRow"}) as unknown as TypedDocumentString<DeadLetterRowFragment, unknown>;
export const PlaceDocument = new TypedDocumentString(`
    mutation Place($input: CreateOrderInput!, $key: String) {
  createOrder(input: $input, idempotencyKey: $key) {
    traceId
    order {
      id
      status
    }
  }
}
    `, {"hash":"sha256:f7178fbc911bde22f32c5afdb7f8db2ece038903877b387184a80cf7a1ebe5d8"}) as unknown as TypedDocumentString<PlaceMutation, PlaceMutationVariables>;
export const FeedDocument = new TypedDocumentString(`
    subscription Feed($after: String) {
  orderEvents(after: $after) {
    __typename
    orderId
    customerId
    occurredAt
    cursor
    ... on OrderCreated {
      totalCents
      currency
    }
    ... on OrderRejected {
      reason
    }
    ... on OrderCancelled {
      reason
    }
  }
}
    `, {"hash":"sha256:65d35f9afbede36eb44aa8773d80c48e37cd3d4cf07a32355df59f5a31dc3310"}) as unknown as TypedDocumentString<FeedSubscription, FeedSubscriptionVariables>;
export const RecentDocument = new TypedDocumentString(`
    query Recent {
  orders(first: 25) {
    edges {
      node {
        id
        customerId
        status
        totalCents
        currency
        updatedAt
        rejectReason
        cancelReason
      }
    }
  }
}
    `, {"hash":"sha256:12bcd8e711b2fef7e2e97a11e3323479c4fc1c72b8776f7e4464422e6b037f4b"}) as unknown as TypedDocumentString<RecentQuery, RecentQueryVariables>;
export const CancelDocument = new TypedDocumentString(`
    mutation Cancel($id: ID!) {
  cancelOrder(id: $id, reason: "cancelled from the dashboard") {
    order {
      id
      status
    }
  }
}
    `, {"hash":"sha256:b153c740a4986d7929dd4be5c7b0cc1b78fbff7ce238a4adddba9ca005c2bae8"}) as unknown as TypedDocumentString<CancelMutation, CancelMutationVariables>;
export const CatalogDocument = new TypedDocumentString(`
    query Catalog {
  products {
    sku
    name
    priceCents
    currency
    available
  }
}
    `, {"hash":"sha256:344aa613045bcd988e4cf6ec8abdc20942cef66f91ecf8744dbc1546c303676c"}) as unknown as TypedDocumentString<CatalogQuery, CatalogQueryVariables>;
export const StockDocument = new TypedDocumentString(`
    subscription Stock($sku: String!) {
  stockLevel(sku: $sku) {
    sku
    available
  }
}
    `, {"hash":"sha256:fa5022d187ff9fd1274e19854d24a0fbb7e0f8f0bc0801f8ea84f5b42a3ab514"}) as unknown as TypedDocumentString<StockSubscription, StockSubscriptionVariables>;
export const SystemStatusDocument = new TypedDocumentString(`
    query SystemStatus($minutes: Int) {
  systemStatus {
    outboxBacklog
    outboxOldestAgeSeconds
    consumerGroups {
      group
      stream
      lag
      pending
    }
    deadLetters {
      stream
      count
    }
    eventRate(minutes: $minutes) {
      at
      orders
      inventory
    }
  }
  orders: deadLetters(stream: ORDERS, first: 10) {
    edges {
      node {
        ...DeadLetterRow
      }
    }
  }
  inventory: deadLetters(stream: INVENTORY, first: 10) {
    edges {
      node {
        ...DeadLetterRow
      }
    }
  }
}
    fragment DeadLetterRow on DeadLetter {
  id
  stream
  group
  reason
  error
  eventType
  aggregateId
  failedAt
  deliveries
}`, {"hash":"sha256:ed61fa34f94b64563bce6bee67c63406742904c4e8f3180eefc8a7e41af20b0e"}) as unknown as TypedDocumentString<SystemStatusQuery, SystemStatusQueryVariables>;
export const ReplayDocument = new TypedDocumentString(`
    mutation Replay($id: ID!) {
  replayDeadLetter(id: $id) {
    id
  }
}
    `, {"hash":"sha256:835a167d3638bad37a518f0fb45539843e3ff2f50d78c907439a8c1dfd6d3e12"}) as unknown as TypedDocumentString<ReplayMutation, ReplayMutationVariables>;
export const DiscardDocument = new TypedDocumentString(`
    mutation Discard($id: ID!) {
  discardDeadLetter(id: $id) {
    id
  }
}
    `, {"hash":"sha256:3b8e50b8ce04e74cc34e177fac0aad38686549d81dffce1daaeefb859894ca85"}) as unknown as TypedDocumentString<DiscardMutation, DiscardMutationVariables>;