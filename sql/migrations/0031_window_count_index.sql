-- 0031_window_count_index.sql: an index that counts a date window's ratings by score, source, platform, carrier, locale and company without reading the table.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0031_window_count_index.sql
--
-- Why: a filter combination nobody asked before (a few scores, a source, a 30-day window,
-- sometimes a carrier) has no remembered count (migration 0030), so its first page counts
-- the window's ratings: at 10,000,000 ratings a window holds ~400,000, and each was read from
-- the table for its source (0023's ratings_created_at_id_idx includes only score and locale).
-- This index carries what those filters and the summary's rating cells test, so the count is
-- an index-only range scan. The list keeps paging through ratings_created_at_id_idx, whose
-- narrower entries a deep page skips faster. Building it at 10,000,000 ratings takes about a
-- minute, during which writes to ratings wait (a migration runs in one transaction, where
-- CREATE INDEX CONCURRENTLY cannot): see docs/operations.md for building it beforehand.

BEGIN;

CREATE INDEX ratings_created_at_cells_idx ON ratings (created_at)
    INCLUDE (score, source, source_platform, carrier_id, locale_id, company_id);

INSERT INTO schema_migrations (version) VALUES ('0031_window_count_index');

COMMIT;
