/** Opens in GraphiQL: run the subscription in one tab, then createOrder in another. */
export const EXAMPLE_OPERATIONS = `# Welcome to the order gateway.
# 1. Run "Products" to see the catalog.
# 2. In a second tab, run "WatchOrders" (live over WebSocket).
# 3. Run "PlaceOrder" here and watch the OrderCreated event arrive there,
#    with the same traceId as this request.

query Products {
  products { sku name priceCents currency available }
}

mutation PlaceOrder {
  createOrder(input: { customerId: "c1", items: [{ sku: "SKU-001", quantity: 2 }] }) {
    traceId
    order { id status totalCents currency items { sku quantity unitPriceCents } }
  }
}

subscription WatchOrders {
  orderEvents {
    __typename eventId orderId customerId occurredAt traceId cursor
    ... on OrderCreated { totalCents currency items { sku quantity } }
  }
}

query RecentOrders {
  orders(first: 10) { edges { cursor node { id customerId status totalCents } } pageInfo { hasNextPage endCursor } }
}
`;
