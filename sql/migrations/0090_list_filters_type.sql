-- 0090_list_filters_type.sql: csat_list_filters, the list filters as the queries use them: the row csat_list_filters_of (sql/definitions) converts the filter parameters into.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0090_list_filters_type.sql
--
-- Why: sql/ratings_page.sql, ratings_export.sql, summary_figures.sql and themes_terms.sql each
-- converted the same fifteen text parameters in a `params` CTE of their own, and the copies
-- drifted apart. The conversion is now one function (a set-returning SQL function, so the
-- planner inlines it and still sees constants); a function's result row needs a type, and a
-- type cannot be replaced, only created and dropped, so it lives here. The fields are
-- csat_filtered_ratings' arguments, in its order: a new filter changes both, in a migration.

BEGIN;

CREATE TYPE csat_list_filters AS (
    locale_ids        smallint[],
    company_ids       bigint[],
    sources           text[],
    source_platforms  text[],
    rating            smallint,
    scores            smallint[],
    start_date        date,
    end_date          date,
    time_zone         text,
    agent_ids         integer[],
    carriers          text[],
    has_comment       boolean,
    follow_up         text,
    search            text,
    resolutions       text[]
);

COMMENT ON TYPE csat_list_filters IS
    'The CSAT list filters, typed; csat_list_filters_of converts query-file parameters into one.';

INSERT INTO schema_migrations (version) VALUES ('0090_list_filters_type');

COMMIT;
