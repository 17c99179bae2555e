-- 10_csat_comment_language.sql: csat_comment_language, the text-search configuration of a company's comments.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/10_csat_comment_language.sql
--
-- portuguese for Portuguese-speaking countries, english for English-speaking ones, spanish for
-- every other country (the platform's markets are Latin American). Migration 0026 created it;
-- rating_comment_terms holds comments parsed with it, so a change here also needs a migration
-- that re-parses them.

CREATE OR REPLACE FUNCTION csat_comment_language(country text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN country IN ('BR', 'PT', 'AO', 'MZ', 'CV', 'GW', 'ST', 'TL') THEN 'portuguese'::regconfig
            WHEN country IN ('US', 'GB', 'CA', 'AU', 'NZ', 'IE') THEN 'english'::regconfig
            ELSE 'spanish'::regconfig
       END;

COMMENT ON FUNCTION csat_comment_language IS
    'The text-search configuration of comments written by a company of this country.';
