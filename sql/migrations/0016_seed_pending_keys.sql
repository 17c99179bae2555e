-- 0016_seed_pending_keys.sql: the seed's journal of keys and indexes it has yet to rebuild; the trigram index made partial.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0016_seed_pending_keys.sql
--
-- `flask seed` commits the data in a few transactions and then rebuilds the big tables' keys,
-- indexes and foreign keys from two connections at once (csat/seed.py). Each one dropped is
-- written here in the transaction that drops it and deleted in the transaction that rebuilds
-- it, so a seed that fails or is killed half way leaves the list of what is missing; the next
-- seed rebuilds it. Empty except while a seed runs or after one that failed.
--
-- The trigram index (0010) skips ratings without a comment (40 %): `comment ILIKE ...` is
-- never true for them, so the planner still uses the partial index for `q`.

BEGIN;

CREATE TABLE seed_pending_keys (
    table_name   text    NOT NULL,
    name         text    NOT NULL,
    kind         text    NOT NULL CHECK (kind IN ('key', 'index', 'foreign key')),
    references_table text,  -- a foreign key's referenced table
    statements   text    NOT NULL,  -- the definition, and its COMMENT when it had one
    position     integer NOT NULL,
    PRIMARY KEY (table_name, name)
);

DO $$
BEGIN
    IF to_regclass('ratings_comment_trgm_idx') IS NOT NULL THEN
        DROP INDEX ratings_comment_trgm_idx;
        CREATE INDEX ratings_comment_trgm_idx
            ON ratings USING gin (comment gin_trgm_ops) WHERE comment IS NOT NULL;
    END IF;
END $$;

INSERT INTO schema_migrations (version) VALUES ('0016_seed_pending_keys');

COMMIT;
