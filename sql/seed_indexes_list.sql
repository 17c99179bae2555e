-- seed_indexes_list.sql :many — the bulk tables' indexes the seed drops before its load (not those of constraints), each with its definition and comment.
-- Params: bulk regclass[] (the tables whose indexes are built after the load)
-- psql -v bulk='{tickets,ticket_comments,ratings,rating_follow_ups,rating_follow_up_history}' \
--      -d "$DATABASE_URL" -f sql/seed_indexes_list.sql
--
-- Replica identity and CLUSTER indexes are left alone. table_name and name (as PostgreSQL quotes
-- them) key the journal seed_pending_keys; index_identifier is the raw parts the seed composes
-- its DROP INDEX from.
WITH params AS (
    SELECT :'bulk'::regclass[] AS bulk
)
SELECT i.indrelid::regclass::text                     AS table_name,
       i.indexrelid::regclass::text                   AS name,
       pg_get_indexdef(i.indexrelid)                  AS definition,
       obj_description(i.indexrelid, 'pg_class')      AS comment,
       ARRAY[n.nspname, x.relname]::text[]            AS index_identifier
FROM pg_index i
JOIN pg_class x ON x.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = x.relnamespace
CROSS JOIN params p
WHERE i.indrelid = ANY (p.bulk)
  AND NOT i.indisreplident AND NOT i.indisclustered
  AND NOT EXISTS (SELECT FROM pg_constraint c
                  WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                    AND c.contype IN ('p', 'u', 'x'))
ORDER BY 1, 2;
