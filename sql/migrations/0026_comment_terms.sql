-- 0026_comment_terms.sql: every rating comment's text-search terms (tsvector), parsed once in the language of its company's country and kept in rating_comment_terms by triggers; GET /csat/themes counts them.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0026_comment_terms.sql
--
-- Language: csat_comment_language(country) picks the text-search configuration (stemmer and
-- stop words): portuguese for Portuguese-speaking countries, english for English-speaking
-- ones, spanish for every other country (the platform's markets are Latin American).
-- Parsing a comment costs ~8 microseconds, so themes over 90 days at 1,000,000 ratings would
-- spend most of their time re-parsing ~75,000 comments on every request; the terms are
-- parsed when a comment is written instead.
--
-- A side table, not a column of ratings: the list, its counts and the summary read ratings'
-- heap, which a tsvector per commented rating would widen by about half.
--
-- Maintenance, all derived, never written by hand:
--   - rating_comment_terms_insert / _update (statement triggers on ratings, with transition
--     tables, so a bulk load is one set-based statement): (re)parse the comments of inserted
--     rows and of rows whose comment or company changed; a comment that becomes empty loses
--     its row;
--   - rows disappear with their rating (ON DELETE CASCADE; TRUNCATE ratings CASCADE);
--   - companies_comment_language (AFTER UPDATE OF country on companies): re-parses the
--     company's comments when its language changes, and moves rating_filter_version, since
--     remembered themes (csat/themes.py) read these terms. Every other change of what themes
--     read is a change of ratings, which moves the version already (0021).

BEGIN;

CREATE FUNCTION csat_comment_language(country text) RETURNS regconfig
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN country IN ('BR', 'PT', 'AO', 'MZ', 'CV', 'GW', 'ST', 'TL') THEN 'portuguese'::regconfig
            WHEN country IN ('US', 'GB', 'CA', 'AU', 'NZ', 'IE') THEN 'english'::regconfig
            ELSE 'spanish'::regconfig
       END;

COMMENT ON FUNCTION csat_comment_language IS
    'The text-search configuration of comments written by a company of this country.';

CREATE TABLE rating_comment_terms (
    rating_id  bigint   PRIMARY KEY REFERENCES ratings ON DELETE CASCADE ON UPDATE CASCADE,
    terms      tsvector NOT NULL
);

COMMENT ON TABLE rating_comment_terms IS
    'to_tsvector(csat_comment_language(company country), comment) of every rating with a non-empty comment; maintained by triggers on ratings and companies.';

INSERT INTO rating_comment_terms (rating_id, terms)
SELECT r.id, to_tsvector(csat_comment_language(c.country), r.comment)
FROM ratings r
JOIN companies c ON c.id = r.company_id
WHERE r.comment <> '';

-- The UPDATE one parses only rows whose comment or company changed, and drops the terms of
-- emptied comments. (Parsing each distinct comment of a bulk statement once and joining the
-- result back was slower than parsing every row: 4.5 s against 2.4 s for the 600,000
-- comments of a 1,000,000-rating seed.)
CREATE FUNCTION rating_comment_terms_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rating_comment_terms (rating_id, terms)
    SELECT n.id, to_tsvector(csat_comment_language(c.country), n.comment)
    FROM inserted_rows n
    JOIN companies c ON c.id = n.company_id
    WHERE n.comment <> '';
    RETURN NULL;
END $$;

CREATE FUNCTION rating_comment_terms_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO rating_comment_terms (rating_id, terms)
    SELECT n.id, to_tsvector(csat_comment_language(c.country), n.comment)
    FROM new_rows n
    JOIN old_rows o ON o.id = n.id
    JOIN companies c ON c.id = n.company_id
    WHERE n.comment <> ''
      AND (o.comment IS DISTINCT FROM n.comment OR o.company_id <> n.company_id)
    ON CONFLICT (rating_id) DO UPDATE SET terms = EXCLUDED.terms;
    DELETE FROM rating_comment_terms t
    USING new_rows n
    WHERE t.rating_id = n.id AND coalesce(n.comment, '') = '';
    RETURN NULL;
END $$;

CREATE TRIGGER rating_comment_terms_insert AFTER INSERT ON ratings
    REFERENCING NEW TABLE AS inserted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_comment_terms_insert();
CREATE TRIGGER rating_comment_terms_update AFTER UPDATE ON ratings
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION rating_comment_terms_update();

CREATE FUNCTION companies_comment_language() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rating_comment_terms t
    SET terms = to_tsvector(csat_comment_language(NEW.country), r.comment)
    FROM ratings r
    WHERE r.company_id = NEW.id AND t.rating_id = r.id;
    UPDATE rating_filter_version SET version = version + 1;
    RETURN NULL;
END $$;

CREATE TRIGGER companies_comment_language AFTER UPDATE OF country ON companies
    FOR EACH ROW
    WHEN (csat_comment_language(OLD.country) IS DISTINCT FROM csat_comment_language(NEW.country))
    EXECUTE FUNCTION companies_comment_language();

INSERT INTO schema_migrations (version) VALUES ('0026_comment_terms');

COMMIT;
