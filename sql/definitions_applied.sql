-- definitions_applied.sql :many — the definition files (sql/definitions) applied to this database, by name, with the checksum each had then.
-- Params: none.
-- psql -d "$DATABASE_URL" -f sql/definitions_applied.sql
SELECT d.name, d.checksum, d.applied_at
FROM schema_definitions d
ORDER BY d.name;
