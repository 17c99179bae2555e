-- 0022_sort_and_agent_indexes.sql: an index for the companyId sort and an index-only path from an agent to its tickets.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0022_sort_and_agent_indexes.sql
--
-- sortBy=companyId orders by (company_id, id): 0005's (company_id, created_at) served it with
-- an incremental sort by id inside each company, 15-20 ms for a first page at 1,000,000
-- ratings; (company_id, id) is the order itself, a scan that stops after one page.
-- The agents filter collects the ids of the agents' tickets (csat_filtered_ratings, 0006):
-- with (assigned_admin_id) alone that was a bitmap heap scan visiting one heap page per
-- ticket (4,200 pages for two busy agents); with the id in the index it is index-only.

BEGIN;

CREATE INDEX ratings_company_id_id_idx ON ratings (company_id, id);
CREATE INDEX tickets_assigned_admin_id_idx ON tickets (assigned_admin_id, id);
-- Its leading column makes the 0005 index redundant.
DROP INDEX tickets_assigned_admin_idx;

INSERT INTO schema_migrations (version) VALUES ('0022_sort_and_agent_indexes');

COMMIT;
