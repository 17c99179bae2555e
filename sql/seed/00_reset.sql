-- 00_reset.sql: empties every data table (not schema_migrations) and restarts identities, so a seed starts clean.
-- Params: ratings bigint, random_seed int
-- psql -v ratings=1000 -v random_seed=42 -d "$DATABASE_URL" -f sql/seed/00_reset.sql
-- Neither parameter is used here; every seed file accepts both so they all run the same way.
--
-- CASCADE also empties any table that a later migration makes refer to these. The TRUNCATE trigger on
-- ratings zeroes rating_counts; rating_counts is listed as well (it references locales) and
-- 01_reference.sql gives every locale its row back. rating_comment_terms is named because
-- CASCADE finds it only through its foreign key, which a failed seed may have left dropped.

TRUNCATE rating_follow_up_history, rating_follow_ups, rating_comment_terms, ratings, rating_counts,
         ticket_comments, tickets, users, companies, locales,
         carriers, administrators, ticket_types, ticket_statuses
    RESTART IDENTITY CASCADE;
