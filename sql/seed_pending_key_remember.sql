-- seed_pending_key_remember.sql :one — writes a key, index or foreign key the seed is about to drop to its journal, after the others; returns its position.
-- Params: table_name text, name text, kind text ('key'|'index'|'foreign key'),
--         references_table text|empty, statements text
-- psql -v table_name=ratings \
--      -v name=ratings_pkey \
--      -v kind=key \
--      -v references_table= \
--      -v statements='ALTER TABLE ratings ADD CONSTRAINT ratings_pkey PRIMARY KEY (id);' \
--      -d "$DATABASE_URL" -f sql/seed_pending_key_remember.sql
WITH params AS (
    SELECT :'table_name'::text AS table_name,
           :'name'::text AS name,
           :'kind'::text AS kind,
           NULLIF(:'references_table', '')::text AS references_table,
           :'statements'::text AS statements
)
INSERT INTO seed_pending_keys (table_name, name, kind, references_table, statements, position)
SELECT p.table_name, p.name, p.kind, p.references_table, p.statements,
       (SELECT coalesce(max(position), 0) + 1 FROM seed_pending_keys)
FROM params p
RETURNING position;
