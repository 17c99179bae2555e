-- seed_counts_list.sql: the exact number of rows in each table, in the order given; one row (table_name, rows) per table.
-- Params: seeded regclass[] (the tables the seed fills)
-- psql -v seeded='{locales,companies,users,carriers,administrators,ticket_types,ticket_statuses,tickets,ticket_comments,ratings,rating_follow_ups,rating_follow_up_history}' -d "$DATABASE_URL" -f sql/seed_counts_list.sql
--
-- query_to_xml runs a count(*) per table named in the array, so the list of tables stays where
-- the seed keeps it; regclass's text is the table's name as PostgreSQL quotes it.
WITH params AS (
    SELECT :'seeded'::regclass[] AS seeded
)
SELECT t.id::text AS table_name,
       (xpath('/row/rows/text()',
              query_to_xml(format('SELECT count(*) AS rows FROM %s', t.id), false, true, '')))[1]::text::bigint AS rows
FROM params p, unnest(p.seeded) WITH ORDINALITY AS t (id, position)
ORDER BY t.position;
