-- 10_csat_resolution_bucket.sql: csat_resolution_bucket, a ticket's resolution-time bucket (ratings.ticket_resolution, the resolution filter).
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/10_csat_resolution_bucket.sql
--
-- Buckets of resolved_at - created_at, each including its lower edge, in elapsed hours (a
-- daylight-saving change moves no ticket); unresolved without resolved_at. Migration 0025
-- created it; its triggers (20_ticket_facts_triggers.sql, and tickets_ticket_facts' WHEN)
-- keep ratings.ticket_resolution equal to it. Changing the buckets also needs a migration that
-- rewrites the stored column.

CREATE OR REPLACE FUNCTION csat_resolution_bucket(created_at timestamptz, resolved_at timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN resolved_at IS NULL THEN 'unresolved'
            WHEN resolved_at - created_at < interval '4 hours' THEN 'under_4h'
            WHEN resolved_at - created_at < interval '24 hours' THEN '4h_to_24h'
            WHEN resolved_at - created_at < interval '72 hours' THEN '1d_to_3d'
            ELSE 'over_3d'
       END;

COMMENT ON FUNCTION csat_resolution_bucket IS
    'A ticket''s resolution-time bucket: under_4h, 4h_to_24h, 1d_to_3d, over_3d (each from its lower edge) or unresolved.';
