-- 10_rating_filter_version_triggers.sql: the trigger functions that move rating_filter_version with every change a list filter or summary can see.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/10_rating_filter_version_triggers.sql
--
-- The triggers themselves (migrations 0021 and 0024) say which changes call them.

CREATE OR REPLACE FUNCTION rating_filter_version_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rating_filter_version SET version = version + 1;
    RETURN NULL;
END $$;

-- For statement triggers with a transition table named changed_rows: bump when it has rows.
CREATE OR REPLACE FUNCTION rating_filter_version_bump_if_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        UPDATE rating_filter_version SET version = version + 1;
    END IF;
    RETURN NULL;
END $$;
