-- filtered_count_remember.sql :one — remembers a filter's recordsFiltered at the rating_filter_version it was read at, for every worker; one row (key, version) when it replaced an older one, none otherwise.
-- Params: key text, version bigint, ratings bigint
-- psql -v key=psql -v version=1 -v ratings=0 -d "$DATABASE_URL" -f sql/filtered_count_remember.sql
--
-- Runs on the primary after a page query counted or brought a count up to date
-- (sql/ratings_page.sql). A reader on a lagging replica may bring a count only to an older
-- version than one already remembered: the newer one stays.
INSERT INTO filtered_count_cache AS c (key, version, ratings)
VALUES (:'key'::text, :'version'::bigint, :'ratings'::bigint)
ON CONFLICT (key) DO UPDATE SET version = excluded.version, ratings = excluded.ratings
WHERE c.version < excluded.version
RETURNING c.key, c.version;
