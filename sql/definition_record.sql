-- definition_record.sql :one — records that a definition file was applied with this checksum; one row (name).
-- Params: name text (the file's name), checksum text (sha256 of its bytes, hex)
-- psql -v name=00_example.sql -v checksum=0000 -d "$DATABASE_URL" -f sql/definition_record.sql
INSERT INTO schema_definitions AS d (name, checksum)
VALUES (:'name'::text, :'checksum'::text)
ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()
RETURNING d.name;
