-- seed_pending_key_forget.sql :one — removes a rebuilt key, index or foreign key from the seed's journal; returns the names removed.
-- Params: table_name text, name text
-- psql -v table_name=ratings \
--      -v name=ratings_pkey \
--      -d "$DATABASE_URL" -f sql/seed_pending_key_forget.sql
-- Nothing to remove on a seeded database: the journal is empty once a seed has finished.
WITH params AS (
    SELECT :'table_name'::text AS table_name,
           :'name'::text AS name
)
DELETE FROM seed_pending_keys k
USING params p
WHERE k.table_name = p.table_name AND k.name = p.name
RETURNING k.table_name, k.name;
