-- pgbench "mirror" for `createorder`: the one statement the app sends for a createOrder request
-- since 172a4ef (prices come from its cache; the write checks them): order, items and outbox row
-- as data-modifying CTEs, written only if every price used is the catalog's. Here the line prices
-- are looked up in the same statement (the app knows them already), so this is slightly more work
-- than the app asks of Postgres. The gap between this and the app is Node/Yoga/Prisma, not SQL.
-- Before 172a4ef the app sent 7 round trips (BEGIN, price lookup, 3 inserts, COMMIT, a read-back).
\set cust random(0, 9999)
\set a random(1, 20)
\set b (:a + random(1, 19) - 1) % 20 + 1
\set q random(1, 3)
\set lane random(0, 15)
WITH line (sku, quantity, unit_price_cents) AS (
  SELECT p.sku, v.quantity, p.price_cents
  FROM (VALUES ('SKU-' || lpad(:a::text, 3, '0'), :q::int), ('SKU-' || lpad(:b::text, 3, '0'), 1)) AS v (sku, quantity)
  JOIN products p ON p.sku = v.sku
),
checked AS (
  SELECT count(*) = 2 AS prices_current, sum(line.quantity * line.unit_price_cents)::int AS total
  FROM line JOIN products p ON p.sku = line.sku AND p.price_cents = line.unit_price_cents AND p.currency = 'EUR'
),
ids AS (SELECT gen_random_uuid() AS order_id, gen_random_uuid() AS event_id),
placed AS (
  INSERT INTO orders (id, customer_id, currency, total_cents)
  SELECT ids.order_id, 'c-' || :cust, 'EUR', checked.total FROM checked, ids WHERE prices_current
  RETURNING id, customer_id AS "customerId", status, total_cents AS "totalCents", currency, reject_reason AS "rejectReason",
    cancel_reason AS "cancelReason", created_at AS "createdAt", updated_at AS "updatedAt"
),
items AS (
  INSERT INTO order_items (order_id, sku, quantity, unit_price_cents)
  SELECT placed.id, line.sku, line.quantity, line.unit_price_cents FROM placed CROSS JOIN line
),
events AS (
  INSERT INTO outbox (event_id, stream, lane, aggregate_type, aggregate_id, event_type, envelope)
  SELECT ids.event_id, 'orders', :lane::smallint, 'Order', placed.id::text, 'OrderCreated',
    jsonb_build_object(
      'eventId', ids.event_id, 'eventType', 'OrderCreated', 'aggregateType', 'Order', 'aggregateId', placed.id, 'version', 1,
      'occurredAt', to_jsonb(date_trunc('milliseconds', now())),
      'traceparent', '00-' || md5(ids.event_id::text) || '-' || left(md5(placed.id::text), 16) || '-01',
      'correlationId', placed.id, 'causationId', NULL,
      'payload', jsonb_build_object('customerId', 'c-' || :cust, 'currency', 'EUR', 'totalCents', placed."totalCents",
        'items', (SELECT jsonb_agg(jsonb_build_object('sku', sku, 'quantity', quantity, 'unitPriceCents', unit_price_cents)) FROM line)))
  FROM placed, ids
)
SELECT checked.prices_current AS "pricesCurrent", true AS "keyFree", placed.* FROM checked LEFT JOIN placed ON true;
