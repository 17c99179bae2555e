-- 0060_admin_read_positions.sql: where each admin's last follow-up write ended in the primary's WAL, so their next reads wait for a replica that has replayed it (read-your-writes).
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0060_admin_read_positions.sql
--
-- After a POST or PUT of a follow-up commits, the service records the WAL insert position for
-- the admin (sql/admin_read_position_record.sql); every request reads it back with the
-- token's admin (sql/admin_get.sql, on the primary, no extra round trip) and sends that
-- admin's reads to the primary until the standby has replayed past it. One row per admin,
-- shared by every worker and container because it lives in the primary.
-- UNLOGGED: the positions are never replicated (a standby cannot read an unlogged table,
-- and nothing needs it to) and cost no WAL; a primary crash empties the table, which only
-- means reads right after the crash go to the standby as they would without this table.

BEGIN;

CREATE UNLOGGED TABLE admin_read_positions (
    admin_id    integer     PRIMARY KEY,
    commit_lsn  pg_lsn      NOT NULL,
    recorded_at timestamptz NOT NULL
);

INSERT INTO schema_migrations (version) VALUES ('0060_admin_read_positions');

COMMIT;
