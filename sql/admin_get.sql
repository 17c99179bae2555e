-- admin_get.sql: one administrator by id (id, name, active), or no row.
-- Params: admin_id integer
-- psql -v admin_id=1 -d "$DATABASE_URL" -f sql/admin_get.sql
SELECT a.id, a.name, a.active
FROM administrators a
WHERE a.id = :'admin_id'::integer;
