-- replica_status.sql :one — how far a read replica has got (one row: in_recovery, received_position, replay_position).
-- Params: none.
-- psql -d "$DATABASE_READ_URL" -f sql/replica_status.sql
--
-- Positions are bytes from WAL position 0/0, comparable with sql/admin_get.sql's
-- read_position. received_position: WAL the standby has from its primary; replay_position:
-- WAL it has applied, i.e. what its queries see. Both NULL when the server is not a standby
-- (in_recovery false): then nothing can be compared and csat/replica.py says so.
SELECT pg_is_in_recovery() AS in_recovery,
       pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::bigint AS received_position,
       pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint AS replay_position;
