-- 0023_rating_ticket_facts.sql: each ticket rating carries its ticket's type and assigned agent, kept equal to the ticket's by triggers; the agents filter and the summary read them with indexes that spare the heap.
-- Params: none.
-- psql -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/migrations/0023_rating_ticket_facts.sql
--
-- Why: the summary's ticket-type and agent breakdowns joined every ticket rating to its
-- ticket (a hash join of 600,000 ratings with 650,000 tickets: 220-300 ms of a 600 ms summary
-- at 1,000,000 ratings). With the two values on the rating the breakdowns read ratings alone
-- (25 ms through ratings_ticket_cells_idx below). The tickets stay the source of truth; the copies are derived, never
-- written by hand:
--   - ratings_ticket_facts (BEFORE INSERT, or UPDATE of the ticket or either copy): reads the
--     rating's ticket and sets both copies (NULL for carrier and shop ratings), so whatever a
--     writer puts there is replaced by the ticket's values;
--   - tickets_ticket_facts (AFTER UPDATE of type_id or assigned_admin_id on tickets, when one
--     changes): rewrites the copies of the ticket's rating (at most one: ticket_id is unique).
-- The seed (sql/seed/05_ratings.sql) fills the copies in its own INSERT, with ratings_ticket_facts
-- disabled for that statement, because it loads ratings while tickets have no primary key
-- (csat/seed.py builds keys after the load).
--
-- The agents filter (csat_filtered_ratings, re-created below with that one change) reads the
-- rating's copy instead of collecting the agents' ticket ids from tickets and probing ratings
-- by ticket id: carrier + two busy agents, page and count, 16 ms -> 2.5 ms at 1,000,000 ratings.
--
-- Indexes; locale_id in both keeps the locale-limited summary (the usual one for an admin with
-- a locales claim) index-only too:
--   ratings_created_at_id_idx (0005's, re-created with score and locale_id included): the
--     summary's trend counts each day of its range with one index-only range scan (45 ms for
--     730 days, instead of a 220 ms scan and hash). A second index on created_at for this
--     alone made the planner walk it backwards for filtered list pages (two companies + scores
--     + 90 days: 3.5 -> 11 ms) instead of the companies' index;
--   ratings_ticket_cells_idx: the summary's ticket-type and agent breakdowns, ticket ratings
--     grouped in index order (25 ms, instead of 110 ms hashing every rating); and the agents
--     filter: carrier, date and id in the index make an agents page and its count index-only.

BEGIN;

ALTER TABLE ratings
    ADD COLUMN ticket_type_id    smallint,
    ADD COLUMN assigned_admin_id integer;

COMMENT ON COLUMN ratings.ticket_type_id IS
    'The ticket''s type_id (NULL without a ticket); maintained by triggers from tickets, never written directly.';
COMMENT ON COLUMN ratings.assigned_admin_id IS
    'The ticket''s assigned_admin_id (NULL without a ticket or agent); maintained by triggers from tickets.';

UPDATE ratings r
SET ticket_type_id = t.type_id,
    assigned_admin_id = t.assigned_admin_id
FROM tickets t
WHERE t.id = r.ticket_id;

CREATE FUNCTION ratings_ticket_facts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT t.type_id, t.assigned_admin_id
    INTO NEW.ticket_type_id, NEW.assigned_admin_id
    FROM tickets t
    WHERE t.id = NEW.ticket_id;
    IF NOT FOUND THEN  -- no ticket (or one the foreign key is about to refuse)
        NEW.ticket_type_id := NULL;
        NEW.assigned_admin_id := NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER ratings_ticket_facts
    BEFORE INSERT OR UPDATE OF ticket_id, ticket_type_id, assigned_admin_id ON ratings
    FOR EACH ROW EXECUTE FUNCTION ratings_ticket_facts();

CREATE FUNCTION tickets_ticket_facts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ratings
    SET ticket_type_id = NEW.type_id,
        assigned_admin_id = NEW.assigned_admin_id
    WHERE ticket_id = NEW.id;
    RETURN NULL;
END $$;

CREATE TRIGGER tickets_ticket_facts
    AFTER UPDATE OF type_id, assigned_admin_id ON tickets
    FOR EACH ROW WHEN (OLD.type_id IS DISTINCT FROM NEW.type_id
                       OR OLD.assigned_admin_id IS DISTINCT FROM NEW.assigned_admin_id)
    EXECUTE FUNCTION tickets_ticket_facts();

DROP INDEX ratings_created_at_id_idx;
CREATE INDEX ratings_created_at_id_idx ON ratings (created_at, id) INCLUDE (score, locale_id);
CREATE INDEX ratings_ticket_cells_idx ON ratings (assigned_admin_id, ticket_type_id, score)
    INCLUDE (locale_id, carrier_id, created_at, id) WHERE ticket_id IS NOT NULL;

CREATE OR REPLACE FUNCTION csat_filtered_ratings(
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
    search            text
) RETURNS SETOF ratings
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT r.*
    FROM ratings r
    WHERE (locale_ids IS NULL OR r.locale_id = ANY (locale_ids))
      AND (company_ids IS NULL OR r.company_id = ANY (company_ids))
      AND (sources IS NULL OR r.source = ANY (sources))
      AND (source_platforms IS NULL OR r.source_platform = ANY (source_platforms))
      AND (rating IS NULL OR r.score = rating)
      AND (scores IS NULL OR r.score = ANY (scores))
      -- Dates are whole days in the business time zone, both ends inclusive.
      AND (start_date IS NULL OR r.created_at >= start_date::timestamp AT TIME ZONE time_zone)
      AND (end_date IS NULL OR r.created_at < (end_date + 1)::timestamp AT TIME ZONE time_zone)
        -- The ticket's assigned agent, from the rating's copy; "ticket_id IS NOT NULL" lets the
      -- partial index ratings_ticket_cells_idx serve it.
      AND (agent_ids IS NULL OR (r.ticket_id IS NOT NULL AND r.assigned_admin_id = ANY (agent_ids)))
      AND (carriers IS NULL OR r.carrier_id = ANY (ARRAY(
              SELECT c.id FROM carriers c
              WHERE lower(c.name) = ANY (carriers) OR lower(c.description) = ANY (carriers))))
      AND (has_comment IS NULL OR (coalesce(r.comment, '') <> '') = has_comment)
      -- pending: a detractor (1-2 stars) nobody has followed up yet; done: followed up.
      AND (follow_up IS NULL
           OR (follow_up = 'done'
               AND EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id))
           OR (follow_up = 'pending' AND r.score <= 2
               AND NOT EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = r.id)))
      AND (search IS NULL OR r.comment ILIKE
              '%' || replace(replace(replace(search, '\', '\\'), '%', '\%'), '_', '\_') || '%')
$$;

INSERT INTO schema_migrations (version) VALUES ('0023_rating_ticket_facts');

COMMIT;
