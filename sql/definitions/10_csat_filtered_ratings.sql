-- 10_csat_filtered_ratings.sql: csat_filtered_ratings, the one definition of the list filters, shared by the list page, its counts, the report export, the summary and the themes.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/10_csat_filtered_ratings.sql
--
-- A LANGUAGE sql, STABLE, single-SELECT function is inlined by the planner into the query that
-- calls it: with literal arguments, every "x IS NULL OR ..." branch of an unused filter folds
-- away and the remaining predicates reach the indexes as if written in place. NULL means "no
-- filter" for every argument. Sub-selects are ARRAY(SELECT ...), evaluated once: inside
-- "x IS NULL OR ..." a plain sub-select cannot become a join and ran as a hashed sub-plan
-- probed by every rating. csat_changed_ratings (10_csat_changed_ratings.sql) applies the same
-- predicate to the logged changes: change both together (tests/test_rating_changes.py).
-- Migrations 0003, 0006, 0023 and 0025 hold its earlier versions; a new argument is a new
-- signature, so it needs a migration that drops the old one.

CREATE OR REPLACE FUNCTION csat_filtered_ratings(
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
