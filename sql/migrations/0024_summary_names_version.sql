-- 0024_summary_names_version.sql: rating_filter_version also moves when a ticket type or an agent is renamed, so a remembered summary is never served with an old name.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0024_summary_names_version.sql
--
-- Each worker remembers summaries with the rating_filter_version they were computed at
-- (csat/summary.py) and serves one again only while the version is the same. Everything a
-- summary reads already moves the version (0021: ratings, follow-ups appearing or moving, a
-- ticket's agent, a carrier's name; 0023: a ticket's type reaches its rating's copy, an
-- update of ratings) except the names its breakdowns show for ticket types and agents.
-- Renames are rare, and the counts remembered for list filters are recounted after one too.

BEGIN;

CREATE TRIGGER rating_filter_version_type_rename AFTER UPDATE OF name, description ON ticket_types
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name
                       OR OLD.description IS DISTINCT FROM NEW.description)
    EXECUTE FUNCTION rating_filter_version_bump();
CREATE TRIGGER rating_filter_version_agent_rename AFTER UPDATE OF name ON administrators
    FOR EACH ROW WHEN (OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION rating_filter_version_bump();

COMMENT ON TABLE rating_filter_version IS
    'Bumped by every change that can alter which ratings a list filter matches or what a summary shows (the stamp of cached counts and summaries).';

INSERT INTO schema_migrations (version) VALUES ('0024_summary_names_version');

COMMIT;
