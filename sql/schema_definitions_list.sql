-- schema_definitions_list.sql :many — every function and view of the service's schema (not an extension's), with its definition and comment, and whether this transaction (re)defined it.
-- Params: none.
-- psql -d "$DATABASE_URL" -f sql/schema_definitions_list.sql
--
-- What sql/definitions must define, each exactly once (tests/test_definitions.py). Procedures
-- count as functions; aggregates would not, and the service has none. defined_now: the
-- catalog row was written by the current transaction (its xmin), so running a definition file
-- and then this, in one transaction, tells what that file defines; false outside of one.
-- A view's definition lives in its _RETURN rule, which CREATE OR REPLACE VIEW rewrites.
SELECT 'function' AS kind,
       p.oid::regprocedure::text AS name,
       pg_get_functiondef(p.oid) AS definition,
       obj_description(p.oid, 'pg_proc') AS comment,
       coalesce(p.xmin = xid(pg_current_xact_id_if_assigned()), false) AS defined_now
FROM pg_proc p
WHERE p.pronamespace = current_schema()::regnamespace
  AND p.prokind IN ('f', 'p')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
UNION ALL
SELECT 'view',
       c.oid::regclass::text,
       pg_get_viewdef(c.oid),
       obj_description(c.oid, 'pg_class'),
       coalesce(rw.xmin = xid(pg_current_xact_id_if_assigned()), false)
FROM pg_class c
JOIN pg_rewrite rw ON rw.ev_class = c.oid AND rw.rulename = '_RETURN'
WHERE c.relnamespace = current_schema()::regnamespace
  AND c.relkind IN ('v', 'm')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
ORDER BY kind, name;
