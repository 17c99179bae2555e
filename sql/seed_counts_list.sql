-- seed_counts_list.sql :many — the exact number of rows in each table the seed fills, in load order; one row (table_name, rows) per table.
-- Params: none.
-- psql -d "$DATABASE_URL" -f sql/seed_counts_list.sql
--
-- Exact counts, one count(*) per table, written out: the embedded PostgreSQL of laptops has no
-- libxml, so query_to_xml is not an option. Keep in step with csat/seed.py SEEDED_TABLES.
SELECT 'locales' AS table_name, (SELECT count(*) FROM locales) AS rows
UNION ALL SELECT 'companies', (SELECT count(*) FROM companies)
UNION ALL SELECT 'users', (SELECT count(*) FROM users)
UNION ALL SELECT 'carriers', (SELECT count(*) FROM carriers)
UNION ALL SELECT 'administrators', (SELECT count(*) FROM administrators)
UNION ALL SELECT 'ticket_types', (SELECT count(*) FROM ticket_types)
UNION ALL SELECT 'ticket_statuses', (SELECT count(*) FROM ticket_statuses)
UNION ALL SELECT 'tickets', (SELECT count(*) FROM tickets)
UNION ALL SELECT 'ticket_comments', (SELECT count(*) FROM ticket_comments)
UNION ALL SELECT 'ratings', (SELECT count(*) FROM ratings)
UNION ALL SELECT 'rating_follow_ups', (SELECT count(*) FROM rating_follow_ups)
UNION ALL SELECT 'rating_follow_up_history', (SELECT count(*) FROM rating_follow_up_history);
