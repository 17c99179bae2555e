-- follow_up_create.sql :one — creates a rating's follow-up unless it already has one; one row (found, created).
-- found: the rating exists and is in the caller's locales; created: this statement wrote the follow-up.
-- Params: rating_id bigint, comments text, admin_id integer,
--         locale_ids smallint[]|empty (empty: every locale)
-- psql -v rating_id=1 \
--      -v comments='Called the customer back' \
--      -v admin_id=1 \
--      -v locale_ids= \
--      -d "$DATABASE_URL" -f sql/follow_up_create.sql
--
-- Concurrent creators meet at the primary key: ON CONFLICT DO NOTHING makes all but the first
-- wait for it to commit and then write nothing, so exactly one of them reports created.
WITH params AS (
    SELECT :'rating_id'::bigint AS rating_id,
           :'comments'::text AS comments,
           :'admin_id'::integer AS admin_id,
           NULLIF(:'locale_ids', '')::smallint[] AS locale_ids
),
visible_rating AS (
    SELECT r.id
    FROM ratings r, params p
    WHERE r.id = p.rating_id
      AND (p.locale_ids IS NULL OR r.locale_id = ANY (p.locale_ids))
),
created AS (
    INSERT INTO rating_follow_ups (rating_id, comments, created_by, created_at)
    SELECT v.id, p.comments, p.admin_id, clock_timestamp()
    FROM visible_rating v, params p
    ON CONFLICT (rating_id) DO NOTHING
    RETURNING rating_id
)
SELECT EXISTS (SELECT 1 FROM visible_rating) AS found,
       EXISTS (SELECT 1 FROM created) AS created;
