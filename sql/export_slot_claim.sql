-- export_slot_claim.sql :one — the export slot (0-based) the admin holds until the transaction ends, or NULL when all slots are taken.
-- Params: admin_id integer, max_exports integer
-- psql -v admin_id=1 -v max_exports=2 -d "$DATABASE_URL" -f sql/export_slot_claim.sql
--
-- An admin's concurrent exports are capped across every worker and host by transaction-level
-- advisory locks, one per slot: the export's own transaction holds it, so ROLLBACK, COMMIT or
-- the death of the session (a killed worker) frees it; there is no counter to leak.
-- Lock key: (1129529684 + slot, admin_id). 1129529684 is 'CSAT' read as a big-endian int4;
-- admin ids use the whole second int4, so the slot goes into the first. In pg_locks the
-- slots show as locktype 'advisory', classid 1129529684 + slot, objid = the admin's id.
-- Slots are tried in order and the LIMIT stops at the first lock obtained, so a claim takes
-- at most one lock. With DATABASE_READ_URL the locks live on the replica: the cap is per
-- database server.
WITH params AS (
    SELECT :'admin_id'::integer AS admin_id,
           :'max_exports'::integer AS max_exports
)
SELECT (
    SELECT s.slot
    FROM params p, generate_series(0, p.max_exports - 1) AS s (slot)
    WHERE pg_try_advisory_xact_lock(1129529684 + s.slot, p.admin_id)
    LIMIT 1
) AS slot;
