-- agents_list.sql :many — active administrators by name as filter options {id, value, label, text}.
-- With locale ids, only agents assigned to at least one ticket of a company in those locales.
-- Params: locale_ids smallint[]|empty (empty: every active administrator)
-- psql -v locale_ids='{1,2}' -d "$DATABASE_URL" -f sql/agents_list.sql
WITH params AS (
    SELECT NULLIF(:'locale_ids', '')::smallint[] AS locale_ids
)
SELECT a.id, a.id AS value, a.name AS label, a.name AS text
FROM administrators a, params p
WHERE a.active
  AND (p.locale_ids IS NULL OR EXISTS (
          SELECT 1
          FROM tickets t
          JOIN companies c ON c.id = t.company_id
          WHERE t.assigned_admin_id = a.id AND c.locale_id = ANY (p.locale_ids)))
ORDER BY a.name, a.id;
