-- seed_demo_data_check.sql :one — one row (present): the database has ratings and no seed left keys to rebuild.
-- Params: none
-- psql -d "$DATABASE_URL" -f sql/seed_demo_data_check.sql
SELECT EXISTS (SELECT FROM ratings) AND NOT EXISTS (SELECT FROM seed_pending_keys) AS present;
