-- 0003_rating_filters.sql: the one definition of the list filters, shared by the list page,
-- its counts, the report export and the summary.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0003_rating_filters.sql
--
-- A LANGUAGE sql, STABLE, single-SELECT function is inlined by the planner into the query
-- that calls it: with literal arguments, every "x IS NULL OR ..." branch of an unused filter
-- folds away and the remaining predicates reach the indexes as if written in place.
-- NULL means "no filter" for every argument. Text arrays are compared case-insensitively
-- where the API says so (carriers); enumerations arrive already normalised by the service.

BEGIN;

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
    search            text
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
      AND (agent_ids IS NULL OR EXISTS (
              SELECT 1 FROM tickets t
              WHERE t.id = r.ticket_id AND t.assigned_admin_id = ANY (agent_ids)))
      AND (carriers IS NULL OR r.carrier_id IN (
              SELECT c.id FROM carriers c
              WHERE lower(c.name) = ANY (carriers) OR lower(c.description) = ANY (carriers)))
      AND (has_comment IS NULL OR (coalesce(r.comment, '') <> '') = has_comment)
      -- pending: a detractor (1-2 stars) nobody has followed up yet; done: followed up.
      AND (follow_up IS NULL
           OR (follow_up = 'done'
               AND EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id))
           OR (follow_up = 'pending' AND r.score <= 2
               AND NOT EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id)))
      AND (search IS NULL OR r.comment ILIKE
              '%' || replace(replace(replace(search, '\', '\\'), '%', '\%'), '_', '\_') || '%')
$$;

COMMENT ON FUNCTION csat_filtered_ratings IS
    'Ratings matching the CSAT list filters; NULL arguments are ignored. Carriers must be lower-case.';

INSERT INTO schema_migrations (version) VALUES ('0003_rating_filters');

COMMIT;
