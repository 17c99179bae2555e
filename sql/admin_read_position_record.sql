-- admin_read_position_record.sql :one — remembers the primary's WAL position as the admin's read position (one row: recorded).
-- Params: admin_id integer
-- psql -v admin_id=1 -d "$DATABASE_URL" -f sql/admin_read_position_record.sql
--
-- Runs on the primary right after a follow-up write committed, so the WAL insert position
-- lies past that commit's record: a standby that has replayed up to it shows the write.
-- pg_current_wal_insert_lsn, not pg_current_wal_lsn (the write position): with
-- synchronous_commit = off the commit record may not be written yet, and a standby could
-- pass the write position without the commit. The position only moves forward (two
-- writers of one admin may finish in either order).
WITH params AS (
    SELECT :'admin_id'::integer AS admin_id
)
INSERT INTO admin_read_positions AS w (admin_id, commit_lsn, recorded_at)
SELECT p.admin_id, pg_current_wal_insert_lsn(), now()
FROM params p
ON CONFLICT (admin_id) DO UPDATE
    SET commit_lsn = greatest(w.commit_lsn, EXCLUDED.commit_lsn),
        recorded_at = EXCLUDED.recorded_at
RETURNING true AS recorded;
