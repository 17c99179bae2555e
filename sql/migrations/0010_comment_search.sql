-- 0010_comment_search.sql: a trigram index on ratings.comment for the list's `q` search, where pg_trgm exists.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0010_comment_search.sql
--
-- `q` is csat_filtered_ratings' `comment ILIKE '%' || escaped || '%'` (0003, 0006): with a
-- literal search the pattern folds to a constant, and a gin_trgm_ops index answers it for
-- patterns of 3 or more characters, instead of reading every comment (a sequential scan of
-- 1,000,000 ratings). Shorter patterns still work, unindexed.
-- pg_trgm ships with PostgreSQL's contrib package, which the embedded pgserver build used on
-- laptops lacks: there the migration records itself without the index and `q` scans, which
-- is fine at demo sizes. Install contrib and create the extension and index by hand (the two
-- statements below) to get it later. pg_trgm is a trusted extension: the database owner
-- may create it without superuser rights.

BEGIN;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        CREATE EXTENSION IF NOT EXISTS pg_trgm;
        CREATE INDEX IF NOT EXISTS ratings_comment_trgm_idx
            ON ratings USING gin (comment gin_trgm_ops);
    ELSE
        RAISE NOTICE 'pg_trgm is not available: comment search (q) will not be indexed';
    END IF;
END $$;

INSERT INTO schema_migrations (version) VALUES ('0010_comment_search');

COMMIT;
