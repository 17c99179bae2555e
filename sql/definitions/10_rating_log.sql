-- 10_rating_log.sql: the trigger functions that log signed images of changed ratings in rating_changes, and rating_log_version.
-- psql -1 -v ON_ERROR_STOP=1 -d "$DATABASE_URL" -f sql/definitions/10_rating_log.sql
--
-- Every change to what the list filters and the summary read writes, in its own transaction,
-- the old image of each changed rating with sign -1 and the new one with +1, stamped with the
-- version that transaction moved to (migration 0030, which explains the design and creates the
-- triggers).

CREATE OR REPLACE FUNCTION rating_log_version() RETURNS bigint
LANGUAGE sql STABLE
RETURN (SELECT version FROM rating_filter_version);

CREATE OR REPLACE FUNCTION rating_log_ratings() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        INSERT INTO rating_changes (version, sign, rating_id, score, comment, source, source_platform,
                                    company_id, locale_id, carrier_id, ticket_id, ticket_type_id,
                                    assigned_admin_id, ticket_resolution, created_at, followed_up)
        SELECT rating_log_version(), -1, o.id, o.score, o.comment, o.source, o.source_platform,
               o.company_id, o.locale_id, o.carrier_id, o.ticket_id, o.ticket_type_id,
               o.assigned_admin_id, o.ticket_resolution, o.created_at,
               EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = o.id)
        FROM old_rows o;
    END IF;
    -- A new rating has no follow-up yet (the follow-up's foreign key); an updated one keeps its own.
    INSERT INTO rating_changes (version, sign, rating_id, score, comment, source, source_platform,
                                company_id, locale_id, carrier_id, ticket_id, ticket_type_id,
                                assigned_admin_id, ticket_resolution, created_at, followed_up)
    SELECT rating_log_version(), 1, n.id, n.score, n.comment, n.source, n.source_platform,
           n.company_id, n.locale_id, n.carrier_id, n.ticket_id, n.ticket_type_id,
           n.assigned_admin_id, n.ticket_resolution, n.created_at,
           TG_OP = 'UPDATE' AND EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = n.id)
    FROM new_rows n;
    RETURN NULL;
END $$;

-- Before the row goes, while ON DELETE CASCADE has not yet removed its follow-up. The
-- version is bumped here too: 0021's statement trigger comes after the rows.
CREATE OR REPLACE FUNCTION rating_log_deleted_rating() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    stamped bigint;
BEGIN
    UPDATE rating_filter_version SET version = version + 1 RETURNING version INTO stamped;
    INSERT INTO rating_changes (version, sign, rating_id, score, comment, source, source_platform,
                                company_id, locale_id, carrier_id, ticket_id, ticket_type_id,
                                assigned_admin_id, ticket_resolution, created_at, followed_up)
    VALUES (stamped, -1, OLD.id, OLD.score, OLD.comment, OLD.source, OLD.source_platform,
            OLD.company_id, OLD.locale_id, OLD.carrier_id, OLD.ticket_id, OLD.ticket_type_id,
            OLD.assigned_admin_id, OLD.ticket_resolution, OLD.created_at,
            EXISTS (SELECT 1 FROM rating_follow_ups f WHERE f.rating_id = OLD.id));
    RETURN OLD;
END $$;

-- A follow-up appearing, disappearing or moving between ratings: each rating whose followed_up
-- changed is logged as it was (-1) and as it is (+1). A rating being deleted (the cascade) is
-- no longer visible here and was logged by rating_log_deleted_rating.
CREATE OR REPLACE FUNCTION rating_log_followed_up(rating_ids bigint[], followed_up boolean) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO rating_changes (version, sign, rating_id, score, comment, source, source_platform,
                                company_id, locale_id, carrier_id, ticket_id, ticket_type_id,
                                assigned_admin_id, ticket_resolution, created_at, followed_up)
    SELECT rating_log_version(), s.sign, r.id, r.score, r.comment, r.source, r.source_platform,
           r.company_id, r.locale_id, r.carrier_id, r.ticket_id, r.ticket_type_id,
           r.assigned_admin_id, r.ticket_resolution, r.created_at, (s.sign = 1) = followed_up
    FROM ratings r
    CROSS JOIN (VALUES (-1::smallint), (1::smallint)) AS s (sign)
    WHERE r.id = ANY (rating_ids)
$$;

CREATE OR REPLACE FUNCTION rating_log_follow_ups() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM rating_log_followed_up(ARRAY(SELECT n.rating_id FROM new_rows n), true);
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM rating_log_followed_up(ARRAY(SELECT o.rating_id FROM old_rows o), false);
    ELSE
        PERFORM rating_log_followed_up(ARRAY(SELECT n.rating_id FROM new_rows n
                                             EXCEPT SELECT o.rating_id FROM old_rows o), true);
        PERFORM rating_log_followed_up(ARRAY(SELECT o.rating_id FROM old_rows o
                                             EXCEPT SELECT n.rating_id FROM new_rows n), false);
    END IF;
    RETURN NULL;
END $$;

-- Everything remembered so far is retired.
CREATE OR REPLACE FUNCTION rating_log_reset() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE rating_change_horizon SET version = rating_log_version();
    RETURN NULL;
END $$;
