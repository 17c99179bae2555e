-- rating_changes_prune.sql :one — forgets logged rating changes older than the retention, and the remembered answers that needed them; one row (changes, counts, summaries deleted; the new horizon).
-- Params: retention_seconds int
-- psql -v retention_seconds=86400 -d "$DATABASE_URL" -f sql/rating_changes_prune.sql
--
-- A remembered answer read at version V is brought up to date with the changes stamped after
-- V, so dropping the changes up to version P retires every answer older than P: the horizon
-- moves to P first, in this same transaction, and those answers go too. The service runs it
-- now and then on the primary (csat/remembered.py); operators may run it from cron instead.
WITH params AS (
    SELECT now() - make_interval(secs => :'retention_seconds'::int) AS cutoff
),
expired AS (
    SELECT max(c.version) AS version
    FROM rating_changes c, params p
    WHERE c.logged_at < p.cutoff
),
horizon AS (
    UPDATE rating_change_horizon h SET version = e.version
    FROM expired e
    WHERE e.version > h.version
    RETURNING h.version
),
changes AS (
    DELETE FROM rating_changes c
    USING horizon h
    WHERE c.version <= h.version
    RETURNING 1
),
counts AS (
    DELETE FROM filtered_count_cache c
    USING horizon h
    WHERE c.version < h.version
    RETURNING 1
),
summaries AS (
    DELETE FROM summary_cell_cache c
    USING horizon h
    WHERE c.version < h.version
    RETURNING 1
)
SELECT (SELECT count(*) FROM changes)   AS changes,
       (SELECT count(*) FROM counts)    AS counts,
       (SELECT count(*) FROM summaries) AS summaries,
       -- The statement's snapshot predates its own UPDATE: the new horizon comes from RETURNING.
       coalesce((SELECT h.version FROM horizon h),
                (SELECT h.version FROM rating_change_horizon h)) AS horizon;
