/** Opens in GraphiQL: run the subscription in one tab, then createOrder in another. */
export const EXAMPLE_OPERATIONS = `# Welcome to the order gateway.
# 1. Run "Products" to see the catalog.
# 2. Open this page in a second browser tab and run "WatchOrders" there (live over WebSocket;
#    one GraphiQL page runs one operation at a time, so another run here would stop it).
# 3. Run "PlaceOrder" here and watch the OrderCreated event arrive there, with the same traceId as
#    this request. The result pane shows the latest event only.
#    PlaceOrder's fixed idempotencyKey makes a second run return the same order and no new event:
#    change "try-1" to place another.
#
# Auth: every operation but products/stockLevel needs a bearer token. The Headers tab holds
#   { "Authorization": "Bearer <token>" }  (in development: a fresh admin token already).
# Make others with "npm run token -- --customer c1" or "--admin" and paste them there. A customer
# sees and orders only for itself (leave customerId out); admins name the customer.
# Subscriptions run over WebSocket and send the same Authorization in graphql-ws
# connection_init (this page adds it when the socket opens: after changing the token, stop
# and rerun a running subscription).
# The live dashboard is at /dashboard.

query Products {
  products { sku name priceCents currency available }
}

mutation PlaceOrder {
  # idempotencyKey: retrying with the same key returns this order instead of placing another.
  createOrder(input: { customerId: "c1", items: [{ sku: "SKU-001", quantity: 2 }] }, idempotencyKey: "try-1") {
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

mutation CancelOrder($id: ID!) {
  cancelOrder(id: $id, reason: "changed my mind") { order { id status cancelReason } }
}

subscription WatchStock {
  stockLevel(sku: "SKU-001") { sku name available }
}

query SystemStatus {
  # Admins: what the dashboard's system panel shows.
  systemStatus {
    outboxBacklog outboxOldestAgeSeconds
    consumerGroups { group stream lag pending }
    deadLetters { stream count }
    eventRate(minutes: 5) { at orders inventory }
  }
}

query RecentOrders {
  orders(first: 10) { edges { cursor node { id customerId status totalCents } } pageInfo { hasNextPage endCursor } }
}
`;
