-- seed_pending_keys_list.sql :many — the keys, indexes and foreign keys a seed dropped and has yet to rebuild, in the order it dropped them.
-- Params: none
-- psql -d "$DATABASE_URL" -f sql/seed_pending_keys_list.sql
-- Empty on a seeded database: rows exist only while a seed runs or after one that failed.
SELECT table_name, name, kind, references_table, statements
FROM seed_pending_keys
ORDER BY position;
