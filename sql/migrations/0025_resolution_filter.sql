-- 0025_resolution_filter.sql: each ticket rating carries its ticket's resolution-time bucket (trigger-maintained like 0023's copies), and csat_filtered_ratings gains the `resolutions` filter.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0025_resolution_filter.sql
--
-- Buckets of resolved_at - created_at, each including its lower edge: under_4h [0, 4 h),
-- 4h_to_24h [4 h, 24 h), 1d_to_3d [24 h, 72 h), over_3d [72 h, ...); unresolved when the ticket
-- has no resolved_at. Hours are elapsed hours (timestamptz arithmetic), so a daylight-saving
-- change does not move a ticket between buckets. Carrier and shop ratings have no bucket (NULL)
-- and never match the filter.
--
-- Why a copy on the rating: the filter then reads ratings alone, like the agents filter
-- (0023), and ratings_resolution_idx serves a bucket's page and count index-only instead of
-- joining every ticket rating to its ticket. The copy is derived, never written by hand:
--   - ratings_ticket_facts (0023's BEFORE trigger, re-created with the bucket): sets it from
--     the rating's ticket on INSERT and on UPDATE of the ticket or of any copy;
--   - tickets_ticket_facts (0023's AFTER trigger on tickets, re-created): also fires when a
--     ticket's created_at or resolved_at moves it to another bucket.
-- Either way ratings rows are updated, so rating_filter_version moves in the same
-- transaction (0021's statement triggers on ratings): remembered counts and summaries stay exact.
-- A change of resolved_at inside the same bucket updates no rating and moves nothing.
--
-- csat_filtered_ratings is replaced by a 15-argument version (the 14 of 0023, plus
-- resolutions text[]; NULL = no filter). The old signature is dropped so no query file can
-- keep calling it by mistake.

BEGIN;

CREATE FUNCTION csat_resolution_bucket(created_at timestamptz, resolved_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN resolved_at IS NULL THEN 'unresolved'
            WHEN resolved_at - created_at < interval '4 hours' THEN 'under_4h'
            WHEN resolved_at - created_at < interval '24 hours' THEN '4h_to_24h'
            WHEN resolved_at - created_at < interval '72 hours' THEN '1d_to_3d'
            ELSE 'over_3d'
       END;

COMMENT ON FUNCTION csat_resolution_bucket IS
    'A ticket''s resolution-time bucket: under_4h, 4h_to_24h, 1d_to_3d, over_3d (each from its lower edge) or unresolved.';

ALTER TABLE ratings
    ADD COLUMN ticket_resolution text
        CHECK (ticket_resolution IN ('under_4h', '4h_to_24h', '1d_to_3d', 'over_3d', 'unresolved'));

COMMENT ON COLUMN ratings.ticket_resolution IS
    'csat_resolution_bucket of the rating''s ticket (NULL without a ticket); maintained by triggers from tickets, never written directly.';

-- Before the trigger below lists the column: this backfill is the trigger's own work.
UPDATE ratings r
SET ticket_resolution = csat_resolution_bucket(t.created_at, t.resolved_at)
FROM tickets t
WHERE t.id = r.ticket_id;

CREATE OR REPLACE FUNCTION ratings_ticket_facts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT t.type_id, t.assigned_admin_id, csat_resolution_bucket(t.created_at, t.resolved_at)
    INTO NEW.ticket_type_id, NEW.assigned_admin_id, NEW.ticket_resolution
    FROM tickets t
    WHERE t.id = NEW.ticket_id;
    IF NOT FOUND THEN  -- no ticket (or one the foreign key is about to refuse)
        NEW.ticket_type_id := NULL;
        NEW.assigned_admin_id := NULL;
        NEW.ticket_resolution := NULL;
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER ratings_ticket_facts ON ratings;
CREATE TRIGGER ratings_ticket_facts
    BEFORE INSERT OR UPDATE OF ticket_id, ticket_type_id, assigned_admin_id, ticket_resolution
    ON ratings
    FOR EACH ROW EXECUTE FUNCTION ratings_ticket_facts();

CREATE OR REPLACE FUNCTION tickets_ticket_facts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ratings
    SET ticket_type_id = NEW.type_id,
        assigned_admin_id = NEW.assigned_admin_id,
        ticket_resolution = csat_resolution_bucket(NEW.created_at, NEW.resolved_at)
    WHERE ticket_id = NEW.id;
    RETURN NULL;
END $$;

DROP TRIGGER tickets_ticket_facts ON tickets;
CREATE TRIGGER tickets_ticket_facts
    AFTER UPDATE OF type_id, assigned_admin_id, created_at, resolved_at ON tickets
    FOR EACH ROW WHEN (OLD.type_id IS DISTINCT FROM NEW.type_id
                       OR OLD.assigned_admin_id IS DISTINCT FROM NEW.assigned_admin_id
                       OR csat_resolution_bucket(OLD.created_at, OLD.resolved_at)
                          IS DISTINCT FROM csat_resolution_bucket(NEW.created_at, NEW.resolved_at))
    EXECUTE FUNCTION tickets_ticket_facts();

-- A bucket's list page (newest first) and its count, index-only.
CREATE INDEX ratings_resolution_idx ON ratings (ticket_resolution, created_at, id)
    INCLUDE (score, locale_id) WHERE ticket_id IS NOT NULL;

DROP FUNCTION csat_filtered_ratings(smallint[], bigint[], text[], text[], smallint, smallint[],
                                    date, date, text, integer[], text[], boolean, text, text);

CREATE FUNCTION csat_filtered_ratings(
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
    resolutions       text[]
) RETURNS SETOF ratings
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT r.*
    FROM ratings r
    WHERE (locale_ids IS NULL OR r.locale_id = ANY (locale_ids))
      AND (company_ids IS NULL OR r.company_id = ANY (company_ids))
      AND (sources IS NULL OR r.source = ANY (sources))
      AND (source_platforms IS NULL OR r.source_platform = ANY (source_platforms))
      AND (rating IS NULL OR r.score = rating)
      AND (scores IS NULL OR r.score = ANY (scores))
      -- Dates are whole days in the business time zone, both ends inclusive.
      AND (start_date IS NULL OR r.created_at >= start_date::timestamp AT TIME ZONE time_zone)
      AND (end_date IS NULL OR r.created_at < (end_date + 1)::timestamp AT TIME ZONE time_zone)
      -- The ticket's assigned agent, from the rating's copy; "ticket_id IS NOT NULL" lets the
      -- partial index ratings_ticket_cells_idx serve it.
      AND (agent_ids IS NULL OR (r.ticket_id IS NOT NULL AND r.assigned_admin_id = ANY (agent_ids)))
      AND (carriers IS NULL OR r.carrier_id = ANY (ARRAY(
              SELECT c.id FROM carriers c
              WHERE lower(c.name) = ANY (carriers) OR lower(c.description) = ANY (carriers))))
      AND (has_comment IS NULL OR (coalesce(r.comment, '') <> '') = has_comment)
      -- pending: a detractor (1-2 stars) nobody has followed up yet; done: followed up.
      AND (follow_up IS NULL
           OR (follow_up = 'done'
               AND EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id))
           OR (follow_up = 'pending' AND r.score <= 2
               AND NOT EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id)))
      AND (search IS NULL OR r.comment ILIKE
              '%' || replace(replace(replace(search, '\', '\\'), '%', '\%'), '_', '\_') || '%')
      -- The ticket's resolution time, from the rating's copy; carrier and shop ratings have
      -- none, so they never match. "ticket_id IS NOT NULL" lets ratings_resolution_idx serve it.
      AND (resolutions IS NULL
           OR (r.ticket_id IS NOT NULL AND r.ticket_resolution = ANY (resolutions)))
$$;

COMMENT ON FUNCTION csat_filtered_ratings IS
    'Ratings matching the CSAT list filters; NULL arguments are ignored. Carriers must be lower-case.';

INSERT INTO schema_migrations (version) VALUES ('0025_resolution_filter');

COMMIT;
