-- follow_up_history.sql :many — every text a rating's follow-up has had, newest first, with authors; no row for an unknown or hidden rating.
-- Params: rating_id bigint, locale_ids smallint[]|empty (empty: every locale)
-- psql -v rating_id=16 -v locale_ids= -d "$DATABASE_URL" -f sql/follow_up_history.sql
--
-- Version 1 is the first text; the highest is the current one (replaced_* NULL). A rating
-- without a follow-up gives one row with NULL version columns, so "no follow-up yet" and
-- "no such rating" (no row at all) read differently. One statement, one snapshot: the current
-- text and its history always come from the same moment.
WITH params AS (
    SELECT :'rating_id'::bigint AS rating_id,
           NULLIF(:'locale_ids', '')::smallint[] AS locale_ids
),
visible_rating AS (
    SELECT r.id
    FROM ratings r, params p
    WHERE r.id = p.rating_id
      AND (p.locale_ids IS NULL OR r.locale_id = ANY (p.locale_ids))
),
earlier AS (
    -- Each editor held the row lock while archiving, so id order is the order of versions.
    SELECT row_number() OVER (ORDER BY h.id) AS version,
           h.comments, h.written_by, h.written_at, h.replaced_by, h.replaced_at
    FROM rating_follow_up_history h
    JOIN visible_rating v ON v.id = h.rating_id
),
versions AS (
    SELECT * FROM earlier
    UNION ALL
    SELECT (SELECT count(*) FROM earlier) + 1,
           f.comments,
           coalesce(f.updated_by, f.created_by),
           coalesce(f.updated_at, f.created_at),
           NULL,
           NULL
    FROM rating_follow_ups f
    JOIN visible_rating v ON v.id = f.rating_id
)
SELECT v.id AS rating_id,
       x.version,
       x.comments,
       x.written_by,
       w.name AS written_by_name,
       to_char(x.written_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS written_at,
       x.replaced_by,
       rb.name AS replaced_by_name,
       to_char(x.replaced_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS replaced_at
FROM visible_rating v
LEFT JOIN versions x ON true
LEFT JOIN administrators w ON w.id = x.written_by
LEFT JOIN administrators rb ON rb.id = x.replaced_by
ORDER BY x.version DESC;
