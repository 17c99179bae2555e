-- locales_list.sql :many — every locale (id, code, name, country), by id.
-- Params: none.
-- psql -d "$DATABASE_URL" -f sql/locales_list.sql
SELECT l.id, l.code, l.name, l.country
FROM locales l
ORDER BY l.id;
