-- summary_cells_remember.sql :one — remembers a summary's cells (the sums every figure is rolled up from) at the rating_filter_version they were read at, for every worker; one row (key, version) when it replaced an older one, none otherwise.
-- Params: key text, version bigint, cells jsonb, company_ids bigint[], company_ratings bigint[],
--         company_score_sums bigint[],
--         company_satisfied bigint[] (the per-company sums, parallel arrays)
-- psql -v key=psql \
--      -v version=1 \
--      -v cells='{"rating": [], "ticket": [], "day": []}' \
--      -v company_ids='{}' \
--      -v company_ratings='{}' \
--      -v company_score_sums='{}' \
--      -v company_satisfied='{}' \
--      -d "$DATABASE_URL" -f sql/summary_cells_remember.sql
--
-- Runs on the primary after sql/summary_figures.sql computed cells or brought them up to
-- date. A reader on a lagging replica may bring them only to an older version than one already
-- remembered: the newer one stays.
INSERT INTO summary_cell_cache AS c (key, version, cells, company_ids, company_ratings, company_score_sums,
                                     company_satisfied)
VALUES (:'key'::text, :'version'::bigint, :'cells'::jsonb, :'company_ids'::bigint[], :'company_ratings'::bigint[],
        :'company_score_sums'::bigint[], :'company_satisfied'::bigint[])
ON CONFLICT (key) DO UPDATE SET version = excluded.version, cells = excluded.cells,
                                company_ids = excluded.company_ids, company_ratings = excluded.company_ratings,
                                company_score_sums = excluded.company_score_sums,
                                company_satisfied = excluded.company_satisfied
WHERE c.version < excluded.version
RETURNING c.key, c.version;
