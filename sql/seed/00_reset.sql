-- 00_reset.sql: empties every data table (not schema_migrations) and restarts identities, so a seed starts clean.
-- Params: ratings bigint, random_seed int (both unused here; accepted so every seed file runs the same way)
-- psql -v ON_ERROR_STOP=1 -v ratings=1000 -v random_seed=42 -d "$DATABASE_URL" -f sql/seed/00_reset.sql
--
-- CASCADE also empties any table a later migration makes reference these. The TRUNCATE trigger on
-- ratings zeroes rating_counts; rating_counts is listed as well (it references locales) and
-- 01_reference.sql gives every locale its row back.

TRUNCATE rating_follow_up_history, rating_follow_ups, ratings, rating_counts,
         ticket_comments, tickets, users, companies, locales,
         carriers, administrators, ticket_types, ticket_statuses
    RESTART IDENTITY CASCADE;
