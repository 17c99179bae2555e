-- 0005_list_indexes.sql: indexes for the CSAT list page (its filters, sorts and counts) and the details.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0005_list_indexes.sql
--
-- The list pages rating ids on ratings alone (sql/ratings_page.sql), so every sort is an index
-- on ratings ending in id (the tie-breaker): a page is a scan that stops after start + length
-- entries. Filters narrow through the leading columns; counts read the same indexes.

BEGIN;

-- Sort by ratingDate (the default, newest first): a backward scan, index-only for deep pages.
CREATE INDEX ratings_created_at_id_idx ON ratings (created_at, id);
-- The same within one locale (a token limited to a locale, or ?localeId=).
CREATE INDEX ratings_locale_created_at_id_idx ON ratings (locale_id, created_at, id);
-- companyId filter with a date range; also the companyId sort (an incremental sort by id
-- within each company's few rows).
CREATE INDEX ratings_company_created_at_idx ON ratings (company_id, created_at);
-- carrier filter (and its count).
CREATE INDEX ratings_carrier_created_at_idx ON ratings (carrier_id, created_at) WHERE carrier_id IS NOT NULL;
-- The other sorts.
CREATE INDEX ratings_score_id_idx ON ratings (score, id);
CREATE INDEX ratings_source_id_idx ON ratings (source, id);
CREATE INDEX ratings_reference_id_idx ON ratings (reference_id, id);

-- agents filter: the tickets an agent is assigned (then ratings by their unique ticket_id).
CREATE INDEX tickets_assigned_admin_idx ON tickets (assigned_admin_id);
-- Details: the newest comment of a ticket.
CREATE INDEX ticket_comments_ticket_created_at_idx ON ticket_comments (ticket_id, created_at);

INSERT INTO schema_migrations (version) VALUES ('0005_list_indexes');

COMMIT;
