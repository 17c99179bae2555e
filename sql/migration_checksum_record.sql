-- migration_checksum_record.sql :one — records an applied migration's checksum unless one is recorded already; one row (version) when it wrote it, none otherwise.
-- Params: version text, checksum text (sha256 of the file's bytes, hex)
-- psql -v version=0001_schema \
--      -v checksum=0000 \
--      -d "$DATABASE_URL" -f sql/migration_checksum_record.sql
--
-- Never overwrites: a recorded checksum is what later runs compare the file with.
UPDATE schema_migrations m
SET checksum = :'checksum'::text
WHERE m.version = :'version'::text AND m.checksum IS NULL
RETURNING m.version;
