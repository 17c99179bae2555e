-- seed_keys_list.sql :many — the constraints the seed drops before its load, each with its definition and comment: foreign keys first.
-- Params: seeded regclass[] (the tables the seed fills),
--         bulk regclass[] (those whose keys are built after the load)
-- psql -v seeded='{locales,companies,users,carriers,administrators,ticket_types,ticket_statuses,tickets,ticket_comments,ratings,rating_follow_ups,rating_follow_up_history}' \
--      -v bulk='{tickets,ticket_comments,ratings,rating_follow_ups,rating_follow_up_history}' \
--      -d "$DATABASE_URL" -f sql/seed_keys_list.sql
--
-- Foreign keys of the seeded tables and into the bulk tables, then the bulk tables' primary key,
-- unique and exclusion constraints. table_name and name (as PostgreSQL quotes them) key the
-- journal seed_pending_keys; table_identifier and constraint_name are the raw parts the seed
-- composes its DROP statement from.
WITH params AS (
    SELECT :'seeded'::regclass[] AS seeded,
           :'bulk'::regclass[] AS bulk
)
SELECT c.conrelid::regclass::text                    AS table_name,
       quote_ident(c.conname)                        AS name,
       c.confrelid::regclass::text                   AS references_table,
       pg_get_constraintdef(c.oid)                   AS definition,
       c.contype = 'f'                               AS is_foreign_key,
       obj_description(c.oid, 'pg_constraint')       AS comment,
       ARRAY[n.nspname, t.relname]::text[]           AS table_identifier,
       c.conname::text                               AS constraint_name
FROM pg_constraint c
JOIN pg_class t ON t.oid = c.conrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
CROSS JOIN params p
WHERE (c.contype = 'f' AND (c.conrelid = ANY (p.seeded) OR c.confrelid = ANY (p.bulk)))
   OR (c.contype IN ('p', 'u', 'x') AND c.conrelid = ANY (p.bulk))
ORDER BY c.contype = 'f' DESC, 1, 2;
