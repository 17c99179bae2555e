-- rating_filter_version_get.sql :one — the current rating_filter_version (one row, one column: version).
-- Params: none.
-- psql -d "$DATABASE_URL" -f sql/rating_filter_version_get.sql
--
-- Every change that can alter a list filter's result or a summary moves it (migrations 0021,
-- 0024): a summary remembered at this version is still exact (csat/summary.py).
SELECT version FROM rating_filter_version;
