-- 20_ticket_facts_triggers.sql: the trigger functions that keep a ticket rating's copies of its ticket's type, agent and resolution bucket.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/20_ticket_facts_triggers.sql
--
-- ratings_ticket_facts (BEFORE INSERT or UPDATE of the ticket or a copy) sets them from the
-- rating's ticket, so whatever a writer puts there is replaced; tickets_ticket_facts (AFTER
-- UPDATE on tickets) rewrites the copies of the ticket's rating. Migrations 0023 and 0025
-- created them and their triggers.

CREATE OR REPLACE FUNCTION ratings_ticket_facts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    SELECT t.type_id, t.assigned_admin_id, csat_resolution_bucket(t.created_at, t.resolved_at)
    INTO NEW.ticket_type_id, NEW.assigned_admin_id, NEW.ticket_resolution
    FROM tickets t
    WHERE t.id = NEW.ticket_id;
    IF NOT FOUND THEN  -- no ticket (or one the foreign key is about to refuse)
        NEW.ticket_type_id := NULL;
        NEW.assigned_admin_id := NULL;
        NEW.ticket_resolution := NULL;
    END IF;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION tickets_ticket_facts() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ratings
    SET ticket_type_id = NEW.type_id,
        assigned_admin_id = NEW.assigned_admin_id,
        ticket_resolution = csat_resolution_bucket(NEW.created_at, NEW.resolved_at)
    WHERE ticket_id = NEW.id;
    RETURN NULL;
END $$;
