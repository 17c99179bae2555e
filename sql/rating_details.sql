-- rating_details.sql :one — one rating's details (list fields plus customer, agents, resolution hours, latest ticket comment) and its locale_id, by rating id or by ticket id; no row when there is none.
-- Params: rating_id bigint|empty, ticket_id bigint|empty (give exactly one)
-- psql -v rating_id=1 -v ticket_id= -d "$DATABASE_URL" -f sql/rating_details.sql
--
-- locale_id is returned so the service can hide a rating outside the caller's locales
-- (a 404, as if it did not exist). Timestamps are ISO 8601 UTC text with a Z, like the list.
-- The list row comes from csat_rating_rows_by_ids (migration 0020), whose 7-table join is
-- planned once per connection rather than on every request.
WITH params AS NOT MATERIALIZED (
    SELECT NULLIF(:'rating_id', '')::bigint AS rating_id,
           NULLIF(:'ticket_id', '')::bigint AS ticket_id
),
rating AS (
    SELECT r.id FROM ratings r, params p WHERE r.id = p.rating_id
    UNION ALL
    SELECT r.id FROM ratings r, params p WHERE r.ticket_id = p.ticket_id
)
SELECT v.rating_id, v.rating, v.comment, v.rating_date, v.source, v.reference_id,
       v.company_id, v.company_name, v.country, v.ticket_type, v.ticket_type_description,
       customer.name                                                      AS user_name,
       assigned.name                                                      AS admin_name,
       solver.name                                                        AS admin_solution_name,
       floor(extract(epoch FROM t.resolved_at - t.created_at) / 3600)::integer AS diff_hours,
       to_char(latest.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') AS latest_comment_date,
       v.follow_up_comments, v.follow_up_created_at, v.follow_up_created_by,
       v.follow_up_updated_by, v.follow_up_updated_at,
       v.source_platform, v.carrier, v.carrier_name,
       v.locale_id
FROM rating
JOIN csat_rating_rows_by_ids(ARRAY(SELECT rating.id FROM rating)) v ON v.rating_id = rating.id
JOIN ratings r                       ON r.id = rating.id
LEFT JOIN users customer             ON customer.id = r.user_id
LEFT JOIN tickets t                  ON t.id = r.ticket_id
LEFT JOIN administrators assigned    ON assigned.id = t.assigned_admin_id
LEFT JOIN administrators solver      ON solver.id = t.solved_by_admin_id
LEFT JOIN LATERAL (
    SELECT max(tc.created_at) AS created_at
    FROM ticket_comments tc
    WHERE tc.ticket_id = t.id
) latest ON true;
