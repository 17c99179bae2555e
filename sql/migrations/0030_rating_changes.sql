-- 0030_rating_changes.sql: a log of every change to what the list filters and the summary read, and the tables where counts and summary cells are remembered for every worker, so a remembered answer is brought up to date with the changes since it was read instead of recomputed from the whole history.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0030_rating_changes.sql
--
-- Why this shape. Counts and summaries must stay exact while ratings keep arriving, and a
-- recount reads every matching rating (seconds at 10,000,000). Three designs were weighed:
--   - aggregates kept in the writing transaction (as rating_counts is), per day and the
--     dimensions the filters use: the filters combine eleven dimensions, agents (200) and
--     companies (20,000) among them, so a table fine enough to answer every filter has about
--     as many rows as ratings, and q (comment text) cannot be pre-aggregated at all;
--   - recomputing (what 0021 did, each worker for itself): cost grows with the history;
--   - remembered answers brought up to date (this file): an answer is remembered with the
--     rating_filter_version it was read at; every change writes, in its own transaction, the
--     old image of each changed rating with sign -1 and the new one with +1, stamped with the
--     version that transaction moves to. Any count or summary is a sum over ratings, so the
--     answer at the current version is the remembered one plus the same sum over the signed
--     images logged after it, which the very filter that selects ratings selects
--     (csat_changed_ratings below): the cost follows the change, whatever the filter.
-- The version is one row that writers update, so they take turns on it: versions are
-- committed in the order they are taken, and a snapshot that reads version V sees exactly
-- the changes stamped up to V.
--
-- What is logged: inserted ratings (+new), deleted ones (-old, row by row before the delete,
-- while their follow-up still exists), updated ones (-old +new: scores, comments, and the
-- ticket facts that 0023 copies onto them, so ticket retypes and reassignments arrive here),
-- and ratings whose follow-up appears, disappears or moves (-before +after; the followUp
-- filter and the summary's followed-up detractors read it). A carrier's rename changes which
-- ratings the carrier filter's names match, and TRUNCATE empties everything: both move
-- rating_change_horizon to the current version, which retires every answer remembered before
-- (csat_remembered_* below), as does pruning the log. Renamed agents and ticket types change
-- no count; a summary joins their names when it is read.
-- Trigger order: PostgreSQL fires triggers of one event in name order, and rating_log_*
-- sorts after 0021's rating_filter_version_* (the bump), so a change is stamped with the
-- version its own transaction moved to.

BEGIN;

CREATE TABLE rating_changes (
    version            bigint      NOT NULL,
    sign               smallint    NOT NULL CHECK (sign IN (-1, 1)),
    rating_id          bigint      NOT NULL,
    score              smallint    NOT NULL,
    comment            text,
    source             text        NOT NULL,
    source_platform    text        NOT NULL,
    company_id         bigint      NOT NULL,
    locale_id          smallint    NOT NULL,
    carrier_id         integer,
    ticket_id          bigint,
    ticket_type_id     smallint,
    assigned_admin_id  integer,
    ticket_resolution  text,
    created_at         timestamptz NOT NULL,
    followed_up        boolean     NOT NULL,
    logged_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rating_changes_version_idx ON rating_changes (version);

COMMENT ON TABLE rating_changes IS
    'Signed images of changed ratings (-1 before, +1 after) stamped with the rating_filter_version of their transaction; pruned after a day.';

-- Remembered answers older than this version cannot be brought up to date (their changes are
-- pruned, or a reset happened after them).
CREATE TABLE rating_change_horizon (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version   bigint  NOT NULL
);
INSERT INTO rating_change_horizon (version) SELECT version FROM rating_filter_version;

-- Remembered answers, shared by every worker and container (read on replicas too: logged tables).
CREATE TABLE filtered_count_cache (
    key      text   PRIMARY KEY,
    version  bigint NOT NULL,
    ratings  bigint NOT NULL
);
-- The per-company sums (20,000 companies at 10M) as parallel arrays: unnest reads them ten
-- times faster than a JSON list of objects, and array_agg builds them as fast.
CREATE TABLE summary_cell_cache (
    key                 text     PRIMARY KEY,
    version             bigint   NOT NULL,
    cells               jsonb    NOT NULL,
    company_ids         bigint[] NOT NULL,
    company_ratings     bigint[] NOT NULL,
    company_score_sums  bigint[] NOT NULL,
    company_satisfied   bigint[] NOT NULL
);

CREATE FUNCTION rating_log_version() RETURNS bigint
LANGUAGE sql STABLE
RETURN (SELECT version FROM rating_filter_version);

CREATE FUNCTION rating_log_ratings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO rating_changes (version, sign, rating_id, score, comment, source, source_platform,
                                    company_id, locale_id, carrier_id, ticket_id, ticket_type_id,
                                    assigned_admin_id, ticket_resolution, created_at, followed_up)
        SELECT rating_log_version(), -1, o.id, o.score, o.comment, o.source, o.source_platform,
               o.company_id, o.locale_id, o.carrier_id, o.ticket_id, o.ticket_type_id,
               o.assigned_admin_id, o.ticket_resolution, o.created_at,
               EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = o.id)
        FROM old_rows o;
    END IF;
    -- A new rating has no follow-up yet (the follow-up's foreign key); an updated one keeps its own.
    INSERT INTO rating_changes (version, sign, rating_id, score, comment, source, source_platform,
                                company_id, locale_id, carrier_id, ticket_id, ticket_type_id,
                                assigned_admin_id, ticket_resolution, created_at, followed_up)
    SELECT rating_log_version(), 1, n.id, n.score, n.comment, n.source, n.source_platform,
           n.company_id, n.locale_id, n.carrier_id, n.ticket_id, n.ticket_type_id,
           n.assigned_admin_id, n.ticket_resolution, n.created_at,
           TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = n.id)
    FROM new_rows n;
    RETURN NULL;
END $$;

-- Before the row goes, while ON DELETE CASCADE has not yet removed its follow-up. The
-- version is bumped here too: 0021's statement trigger comes after the rows.
CREATE FUNCTION rating_log_deleted_rating() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    stamped bigint;
BEGIN
    UPDATE rating_filter_version SET version = version + 1 RETURNING version INTO stamped;
    INSERT INTO rating_changes (version, sign, rating_id, score, comment, source, source_platform,
                                company_id, locale_id, carrier_id, ticket_id, ticket_type_id,
                                assigned_admin_id, ticket_resolution, created_at, followed_up)
    VALUES (stamped, -1, OLD.id, OLD.score, OLD.comment, OLD.source, OLD.source_platform,
            OLD.company_id, OLD.locale_id, OLD.carrier_id, OLD.ticket_id, OLD.ticket_type_id,
            OLD.assigned_admin_id, OLD.ticket_resolution, OLD.created_at,
            EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = OLD.id));
    RETURN OLD;
END $$;

-- A follow-up appearing, disappearing or moving between ratings: each rating whose followed_up
-- changed is logged as it was (-1) and as it is (+1). A rating being deleted (the cascade) is
-- no longer visible here and was logged by rating_log_deleted_rating.
CREATE FUNCTION rating_log_followed_up(rating_ids bigint[], followed_up boolean) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO rating_changes (version, sign, rating_id, score, comment, source, source_platform,
                                company_id, locale_id, carrier_id, ticket_id, ticket_type_id,
                                assigned_admin_id, ticket_resolution, created_at, followed_up)
    SELECT rating_log_version(), s.sign, r.id, r.score, r.comment, r.source, r.source_platform,
           r.company_id, r.locale_id, r.carrier_id, r.ticket_id, r.ticket_type_id,
           r.assigned_admin_id, r.ticket_resolution, r.created_at, (s.sign = 1) = followed_up
    FROM ratings r
    CROSS JOIN (VALUES (-1::smallint), (1::smallint)) AS s (sign)
    WHERE r.id = ANY (rating_ids)
$$;

CREATE FUNCTION rating_log_follow_ups() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM rating_log_followed_up(ARRAY(SELECT n.rating_id FROM new_rows n), true);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM rating_log_followed_up(ARRAY(SELECT o.rating_id FROM old_rows o), false);
    ELSE
        PERFORM rating_log_followed_up(ARRAY(SELECT n.rating_id FROM new_rows n
                                             EXCEPT SELECT o.rating_id FROM old_rows o), true);
        PERFORM rating_log_followed_up(ARRAY(SELECT o.rating_id FROM old_rows o
                                             EXCEPT SELECT n.rating_id FROM new_rows n), false);
    END IF;
    RETURN NULL;
END $$;

-- Everything remembered so far is retired.
CREATE FUNCTION rating_log_reset() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rating_change_horizon SET version = rating_log_version();
    RETURN NULL;
END $$;

CREATE TRIGGER rating_log_insert AFTER INSERT ON ratings
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_log_ratings();
CREATE TRIGGER rating_log_update AFTER UPDATE ON ratings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_log_ratings();
CREATE TRIGGER rating_log_delete BEFORE DELETE ON ratings
    FOR EACH ROW EXECUTE FUNCTION rating_log_deleted_rating();
CREATE TRIGGER rating_log_truncate AFTER TRUNCATE ON ratings
    FOR EACH STATEMENT EXECUTE FUNCTION rating_log_reset();

CREATE TRIGGER rating_log_insert AFTER INSERT ON rating_follow_ups
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_log_follow_ups();
CREATE TRIGGER rating_log_update AFTER UPDATE ON rating_follow_ups
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_log_follow_ups();
CREATE TRIGGER rating_log_delete AFTER DELETE ON rating_follow_ups
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_log_follow_ups();
CREATE TRIGGER rating_log_truncate AFTER TRUNCATE ON rating_follow_ups
    FOR EACH STATEMENT EXECUTE FUNCTION rating_log_reset();

CREATE TRIGGER rating_log_rename AFTER UPDATE OF name, description ON carriers
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name
                       OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION rating_log_reset();

-- The logged images the list filters select, stamped after `since`: csat_filtered_ratings'
-- predicate (0025) applied to the images, with followed_up in place of the follow-up lookup.
-- tests/test_rating_changes.py holds the two to the same answers.
CREATE FUNCTION csat_changed_ratings(
    locale_ids        smallint[],
    company_ids       bigint[],
    sources           text[],
    source_platforms  text[],
    rating            smallint,
    scores            smallint[],
    start_date        date,
    end_date          date,
    time_zone         text,
    agent_ids         integer[],
    carriers          text[],
    has_comment       boolean,
    follow_up         text,
    search            text,
    resolutions       text[],
    since             bigint
) RETURNS SETOF rating_changes
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT r.*
    FROM rating_changes r
    WHERE r.version > since
      AND (locale_ids IS NULL OR r.locale_id = ANY (locale_ids))
      AND (company_ids IS NULL OR r.company_id = ANY (company_ids))
      AND (sources IS NULL OR r.source = ANY (sources))
      AND (source_platforms IS NULL OR r.source_platform = ANY (source_platforms))
      AND (rating IS NULL OR r.score = rating)
      AND (scores IS NULL OR r.score = ANY (scores))
      AND (start_date IS NULL OR r.created_at >= start_date::timestamp AT TIME ZONE time_zone)
      AND (end_date IS NULL OR r.created_at < (end_date + 1)::timestamp AT TIME ZONE time_zone)
      AND (agent_ids IS NULL OR (r.ticket_id IS NOT NULL AND r.assigned_admin_id = ANY (agent_ids)))
      AND (carriers IS NULL OR r.carrier_id = ANY (ARRAY(
              SELECT c.id FROM carriers c
              WHERE lower(c.name) = ANY (carriers) OR lower(c.description) = ANY (carriers))))
      AND (has_comment IS NULL OR (coalesce(r.comment, '') <> '') = has_comment)
      AND (follow_up IS NULL
           OR (follow_up = 'done' AND r.followed_up)
           OR (follow_up = 'pending' AND r.score <= 2 AND NOT r.followed_up))
      AND (search IS NULL OR r.comment ILIKE
              '%' || replace(replace(replace(search, '\', '\\'), '%', '\%'), '_', '\_') || '%')
      AND (resolutions IS NULL OR (r.ticket_id IS NOT NULL AND r.ticket_resolution = ANY (resolutions)))
$$;

INSERT INTO schema_migrations (version) VALUES ('0030_rating_changes');

COMMIT;
