-- database_ping.sql :one — one row (ok = true) when the database answers; used by /readyz.
-- Params: none.
-- psql -d "$DATABASE_URL" -f sql/database_ping.sql
SELECT true AS ok;
