-- follow_up_update.sql :one — replaces a rating's follow-up text, moving the old one to history; one row (found, updated).
-- found: the rating exists and is in the caller's locales; updated: it had a follow-up and this statement replaced it.
-- Params: rating_id bigint, comments text, admin_id integer,
--         locale_ids smallint[]|empty (empty: every locale)
-- psql -v rating_id=16 \
--      -v comments='Refund issued, customer informed' \
--      -v admin_id=1 \
--      -v locale_ids= \
--      -d "$DATABASE_URL" -f sql/follow_up_update.sql
--
-- Concurrent editors queue on the row lock. Under READ COMMITTED a waiting FOR UPDATE resumes
-- on the newest row version, so each editor archives exactly the text the previous one wrote.
-- The time is taken after the lock (clock_timestamp(), not the statement's now(), which can
-- predate the writer we waited for) and never before the text it replaces, so history times
-- always chain: written_at <= replaced_at = the next version's written_at.
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
current_text AS (
    SELECT f.rating_id,
           f.comments,
           coalesce(f.updated_by, f.created_by) AS written_by,
           coalesce(f.updated_at, f.created_at) AS written_at
    FROM rating_follow_ups f
    JOIN visible_rating v ON v.id = f.rating_id
    FOR UPDATE OF f
),
replacement AS (
    SELECT c.rating_id, greatest(clock_timestamp(), c.written_at) AS replaced_at
    FROM current_text c
),
archived AS (
    INSERT INTO rating_follow_up_history (rating_id, comments, written_by, written_at, replaced_by, replaced_at)
    SELECT c.rating_id, c.comments, c.written_by, c.written_at, p.admin_id, x.replaced_at
    FROM current_text c
    JOIN replacement x ON x.rating_id = c.rating_id
    CROSS JOIN params p
    RETURNING rating_id
),
updated AS (
    UPDATE rating_follow_ups f
    SET comments = p.comments,
        updated_by = p.admin_id,
        updated_at = x.replaced_at
    FROM replacement x, params p
    WHERE f.rating_id = x.rating_id
    RETURNING f.rating_id
)
SELECT EXISTS (SELECT 1 FROM visible_rating) AS found,
       EXISTS (SELECT 1 FROM updated) AS updated;
