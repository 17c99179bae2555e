-- 0002_rating_counts.sql: exact count of ratings per locale, kept by statement-level triggers.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0002_rating_counts.sql
--
-- recordsTotal is asked for on every list request and counting 600k ratings costs ~30 ms;
-- reading these rows costs microseconds and stays exact. Statement-level triggers with
-- transition tables update each locale's row once per statement, so a bulk load pays one
-- UPDATE per locale, not one per rating.

BEGIN;

CREATE TABLE rating_counts (
    locale_id  smallint PRIMARY KEY REFERENCES locales,
    ratings    bigint   NOT NULL DEFAULT 0 CHECK (ratings >= 0)
);

CREATE FUNCTION rating_counts_apply() RETURNS trigger
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

CREATE TRIGGER rating_counts_insert AFTER INSERT ON ratings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_counts_apply();
CREATE TRIGGER rating_counts_update AFTER UPDATE ON ratings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_counts_apply();
CREATE TRIGGER rating_counts_delete AFTER DELETE ON ratings
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_counts_apply();

-- TRUNCATE bypasses row triggers; zero the counts with it.
CREATE FUNCTION rating_counts_reset() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rating_counts SET ratings = 0;
    RETURN NULL;
END $$;

CREATE TRIGGER rating_counts_truncate AFTER TRUNCATE ON ratings
    FOR EACH STATEMENT EXECUTE FUNCTION rating_counts_reset();

INSERT INTO rating_counts (locale_id, ratings)
SELECT l.id, count(r.id) FROM locales l LEFT JOIN ratings r ON r.locale_id = l.id GROUP BY l.id;

INSERT INTO schema_migrations (version) VALUES ('0002_rating_counts');

COMMIT;
