-- admin_get.sql :one — one administrator by id (id, name, active, read_position, read_position_age_ms), or no row.
-- Params: admin_id integer
-- psql -v admin_id=1 -d "$DATABASE_URL" -f sql/admin_get.sql
--
-- read_position: where the admin's last follow-up write ended in the primary's WAL (bytes
-- from 0/0, comparable with sql/replica_status.sql's replay_position), NULL when they never
-- wrote; read_position_age_ms: how long ago. Read on the primary with the admin, so
-- read-your-writes costs no extra round trip (migration 0060).
SELECT a.id, a.name, a.active,
       pg_wal_lsn_diff(w.commit_lsn, '0/0')::bigint AS read_position,
       (extract(epoch FROM now() - w.recorded_at) * 1000)::bigint AS read_position_age_ms
FROM administrators a
LEFT JOIN admin_read_positions w ON w.admin_id = a.id
WHERE a.id = :'admin_id'::integer;
