-- The aggregate id's 32-bit FNV-1a hash (the one lanes and stream partitions are taken from), so a
-- relay can claim the rows of one stream partition in SQL: partition = agg_hash % STREAM_PARTITIONS.
ALTER TABLE "outbox" ADD COLUMN "agg_hash" BIGINT;

-- Same function as fnv1a() in src/platform/events/lanes.ts, over UTF-16 code units like JavaScript's
-- charCodeAt (a character outside the BMP counts as its two surrogates). For rows written without
-- agg_hash (a writer of the previous release during a rolling update) and the backfill below; the
-- application computes it itself.
CREATE FUNCTION "outbox_fnv1a"(t TEXT) RETURNS BIGINT
    LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    h BIGINT := 2166136261;
    cp BIGINT;
BEGIN
    FOR i IN 1..length(t) LOOP
        cp := ascii(substr(t, i, 1));
        IF cp > 65535 THEN
            cp := cp - 65536;
            h := ((h # (55296 + (cp >> 10))) * 16777619) % 4294967296;
            h := ((h # (56320 + (cp & 1023))) * 16777619) % 4294967296;
        ELSE
            h := ((h # cp) * 16777619) % 4294967296;
        END IF;
    END LOOP;
    RETURN h;
END $$;

CREATE FUNCTION "outbox_fill_agg_hash"() RETURNS trigger
    LANGUAGE plpgsql AS $$
BEGIN
    NEW."agg_hash" := "outbox_fnv1a"(NEW."aggregate_id");
    RETURN NEW;
END $$;

CREATE TRIGGER "outbox_fill_agg_hash_before_insert"
    BEFORE INSERT ON "outbox"
    FOR EACH ROW WHEN (NEW."agg_hash" IS NULL)
    EXECUTE FUNCTION "outbox_fill_agg_hash"();

UPDATE "outbox" SET "agg_hash" = "outbox_fnv1a"("aggregate_id") WHERE "agg_hash" IS NULL;
