-- 0021_rating_filter_version.sql: rating_filter_version, a counter bumped in the same transaction by every change that can alter a list filter's result.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0021_rating_filter_version.sql
--
-- Why: recordsFiltered must be exact, and counting a filter costs from 1 ms to hundreds of
-- ms at 1,000,000 ratings (carrier + agents, a comment search), on every page DataTables
-- asks for. The service remembers a filter's count with the version it was counted at and
-- sends both back with the next page query; the query returns the remembered count only
-- when it reads the same version, and counts again otherwise (sql/ratings_page.sql).
-- Page, version and count come from one statement, so from one snapshot: the counter and
-- the change that bumped it commit together, and writers take turns on the one row, so a
-- version number stands for exactly one set of committed changes.
-- What can change a filter's result (csat_filtered_ratings, 0006): rows of ratings
-- inserted, updated or deleted; follow-ups appearing, disappearing or moving (followUp); a
-- ticket's assigned agent (agents); a carrier's name or description (carrier). Deleting a
-- ticket or carrier that a rating uses is refused by the foreign keys, and a new ticket or
-- carrier has no ratings yet. A statement that touches no row bumps nothing (a refused
-- write leaves every table as it was): bulk statements are checked once through their
-- transition tables; the rare ticket, carrier and follow-up moves row by row.

BEGIN;

CREATE TABLE rating_filter_version (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint  NOT NULL DEFAULT 0
);
INSERT INTO rating_filter_version DEFAULT VALUES;

COMMENT ON TABLE rating_filter_version IS
    'Bumped by every change that can alter which ratings a list filter matches (the stamp of cached exact counts).';

CREATE FUNCTION rating_filter_version_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rating_filter_version SET version = version + 1;
    RETURN NULL;
END $$;

-- For statement triggers with a transition table named changed_rows: bump when it has rows.
CREATE FUNCTION rating_filter_version_bump_if_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM changed_rows) THEN
        UPDATE rating_filter_version SET version = version + 1;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER rating_filter_version_insert AFTER INSERT ON ratings
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_filter_version_bump_if_changed();
CREATE TRIGGER rating_filter_version_update AFTER UPDATE ON ratings
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_filter_version_bump_if_changed();
CREATE TRIGGER rating_filter_version_delete AFTER DELETE ON ratings
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_filter_version_bump_if_changed();
CREATE TRIGGER rating_filter_version_truncate AFTER TRUNCATE ON ratings
    FOR EACH STATEMENT EXECUTE FUNCTION rating_filter_version_bump();

CREATE TRIGGER rating_filter_version_insert AFTER INSERT ON rating_follow_ups
    REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_filter_version_bump_if_changed();
CREATE TRIGGER rating_filter_version_delete AFTER DELETE ON rating_follow_ups
    REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_filter_version_bump_if_changed();
CREATE TRIGGER rating_filter_version_truncate AFTER TRUNCATE ON rating_follow_ups
    FOR EACH STATEMENT EXECUTE FUNCTION rating_filter_version_bump();
CREATE TRIGGER rating_filter_version_move AFTER UPDATE OF rating_id ON rating_follow_ups
    FOR EACH ROW WHEN (OLD.rating_id IS DISTINCT FROM NEW.rating_id)
    EXECUTE FUNCTION rating_filter_version_bump();

CREATE TRIGGER rating_filter_version_assign AFTER UPDATE OF assigned_admin_id ON tickets
    FOR EACH ROW WHEN (OLD.assigned_admin_id IS DISTINCT FROM NEW.assigned_admin_id)
    EXECUTE FUNCTION rating_filter_version_bump();
CREATE TRIGGER rating_filter_version_rename AFTER UPDATE OF name, description ON carriers
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name
                       OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION rating_filter_version_bump();

INSERT INTO schema_migrations (version) VALUES ('0021_rating_filter_version');

COMMIT;
