-- 10_rating_counts_triggers.sql: the trigger functions that keep rating_counts (ratings per locale) exact.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/10_rating_counts_triggers.sql
--
-- recordsTotal is read on every list request; statement-level triggers with transition tables
-- update each locale's row once per statement, so a bulk load pays one UPDATE per locale.
-- Migration 0002 created them and their triggers.

CREATE OR REPLACE FUNCTION rating_counts_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO rating_counts AS rc (locale_id, ratings)
        SELECT locale_id, count(*) FROM new_rows GROUP BY locale_id
        ON CONFLICT (locale_id) DO UPDATE SET ratings = rc.ratings + excluded.ratings;
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE rating_counts rc SET ratings = rc.ratings - gone.n
        FROM (SELECT locale_id, count(*) AS n FROM old_rows GROUP BY locale_id) gone
        WHERE rc.locale_id = gone.locale_id;
    END IF;
    RETURN NULL;
END $$;

-- TRUNCATE bypasses row triggers; zero the counts with it.
CREATE OR REPLACE FUNCTION rating_counts_reset() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rating_counts SET ratings = 0;
    RETURN NULL;
END $$;
