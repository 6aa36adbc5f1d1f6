-- pgbench "mirror" for `createorder`: every statement the app sends for one createOrder request,
-- in the same order and shape (taken from Postgres' log_statement output of a real request):
-- BEGIN; price lookup; INSERT order RETURNING id; INSERT items; INSERT outbox; COMMIT; then the
-- GraphQL payload's read of the order. 7 round trips where createorder.pgbench.sql has 5 (until
-- ad1ebac the app also re-read the order and its items inside the transaction: 9): the gap between
-- the two baselines is the extra SQL, the gap between this one and the app is Node/Yoga/Prisma.
\set cust random(0, 9999)
\set a random(1, 20)
\set b (:a + random(1, 19) - 1) % 20 + 1
\set q random(1, 3)
\set lane random(0, 15)
BEGIN;
SELECT sku, name, price_cents, currency, created_at FROM products
WHERE sku IN ('SKU-' || lpad(:a::text, 3, '0'), 'SKU-' || lpad(:b::text, 3, '0')) OFFSET 0;
INSERT INTO orders (id, customer_id, status, total_cents, currency, created_at, updated_at)
VALUES (gen_random_uuid(), 'c-' || :cust, CAST('PENDING'::text AS "OrderStatus"), 2490 * :q + 1190, 'EUR', now(), now())
RETURNING id AS order_id \gset
INSERT INTO order_items (order_id, sku, quantity, unit_price_cents)
VALUES (:order_id, 'SKU-' || lpad(:a::text, 3, '0'), :q, 2490), (:order_id, 'SKU-' || lpad(:b::text, 3, '0'), 1, 1190);
WITH e AS (SELECT gen_random_uuid() AS id, :order_id::text AS agg, 'c-' || :cust AS cust)
INSERT INTO outbox (event_id, stream, lane, aggregate_type, aggregate_id, event_type, envelope, created_at)
SELECT e.id, 'orders', :lane::smallint, 'Order', e.agg, 'OrderCreated',
  jsonb_build_object(
    'eventId', e.id, 'eventType', 'OrderCreated', 'aggregateType', 'Order', 'aggregateId', e.agg, 'version', 1,
    'occurredAt', to_jsonb(date_trunc('milliseconds', now())), -- ISO 8601 (no ':' literals: pgbench would take them for variables)
    'traceparent', '00-' || md5(e.id::text) || '-' || left(md5(e.agg), 16) || '-01',
    'correlationId', e.agg, 'causationId', NULL,
    'payload', jsonb_build_object('customerId', e.cust, 'currency', 'EUR', 'totalCents', 2490 * :q::int + 1190,
      'items', jsonb_build_array(
        jsonb_build_object('sku', 'SKU-' || lpad(:a::text, 3, '0'), 'quantity', :q::int, 'unitPriceCents', 2490),
        jsonb_build_object('sku', 'SKU-' || lpad(:b::text, 3, '0'), 'quantity', 1, 'unitPriceCents', 1190)))),
  now()
FROM e;
COMMIT;
SELECT id, customer_id, status::text, total_cents, currency, reject_reason, cancel_reason, created_at, updated_at
FROM orders WHERE id = :order_id LIMIT 1 OFFSET 0;
