-- The outbox NOTIFY now says which rows arrived: "stream:agg_hash" per distinct pair, comma-separated,
-- so a relay on a Redis Cluster (one publish loop per stream partition, partition = agg_hash %
-- STREAM_PARTITIONS) wakes only the loops that have new rows. Empty payload (a statement inserting
-- more than 100 distinct pairs, or the previous trigger during a rolling update): wake every loop.
-- Still once per statement and delivered on commit; identical payloads of a transaction fold into one.
CREATE OR REPLACE FUNCTION "outbox_notify"() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    payload TEXT;
BEGIN
    SELECT CASE WHEN count(*) <= 100 THEN string_agg(pair, ',') ELSE '' END INTO payload
    FROM (SELECT DISTINCT "stream" || ':' || coalesce("agg_hash"::text, '') AS pair FROM inserted) AS pairs;
    PERFORM pg_notify('outbox', coalesce(payload, ''));
    RETURN NULL;
END;
$$;

DROP TRIGGER "outbox_notify_after_insert" ON "outbox";

CREATE TRIGGER "outbox_notify_after_insert"
    AFTER INSERT ON "outbox"
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT
    EXECUTE FUNCTION "outbox_notify"();
