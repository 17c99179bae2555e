-- 10_csat_changed_ratings.sql: csat_changed_ratings, the logged rating images (rating_changes) the list filters select, stamped after a version.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/10_csat_changed_ratings.sql
--
-- Counts and summaries remembered at a version are brought up to date with the signed images
-- logged since (migration 0030); this is csat_filtered_ratings' predicate applied to those
-- images.

-- The logged images the list filters select, stamped after `since`: csat_filtered_ratings'
-- predicate (0025) applied to the images, with followed_up in place of the follow-up lookup.
-- tests/test_rating_changes.py holds the two to the same answers.
CREATE OR REPLACE FUNCTION csat_changed_ratings(
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
