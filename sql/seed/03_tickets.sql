-- 03_tickets.sql: support tickets (ceil(0.65 * ratings)) over the two years before 2026-11-01, ids in creation order.
-- Params: ratings bigint, random_seed int
-- psql -v ratings=1000 -v random_seed=42 -d "$DATABASE_URL" -f sql/seed/03_tickets.sql
--
-- The anchor date is fixed (not now()) so the data is the same whenever it is generated. Volume
-- grows threefold over the two years. Resolution takes 1 hour to 10 days; tickets that would be
-- resolved after the anchor are still open, as is a backlog of 30 % of the last month's tickets.
-- Most resolved tickets get rated (05_ratings.sql): 0.65 * ratings tickets give ~60 % ticket ratings.
--
-- Lookups are arrays in a single row, indexed by a draw or by an id (this seed's ids are dense
-- from 1): per row that costs a fraction of a hash join.

INSERT INTO tickets (id, company_id, user_id, type_id, status_id, carrier_id,
                     assigned_admin_id, solved_by_admin_id, created_at, resolved_at)
-- NOT MATERIALIZED: the planner sees the constants, so it knows how many rows generate_series makes.
WITH params AS NOT MATERIALIZED (
    SELECT ceil(:'ratings'::bigint * 0.65)::bigint AS n_tickets,
           :'random_seed'::int::bigint * 1000 AS seed,
           date_part('epoch', timestamp '2026-11-01') AS anchor_s,  -- UTC, in seconds
           730 * 86400.0::float8 AS span_s
),
-- Carriers of each market, most used first.
market_carrier AS (
    SELECT l.id AS locale_id, s.ord, cr.id AS carrier_id
    FROM (VALUES
        ('mx', 'estafeta fedex dhl redpack paquetexpress 99minutos jtexpress ups sendex ampm tresguerras quiken ivoy castores carssa mercado_envios'),
        ('co', 'coordinadora servientrega interrapidisimo deprisa envia tcc 472 dhl fedex mercado_envios'),
        ('cl', 'chilexpress starken bluexpress correos_chile urbano dhl fedex mercado_envios'),
        ('br', 'correios jadlog loggi azul_cargo total_express braspress mercado_envios dhl fedex'),
        ('us', 'usps ups fedex amazon_shipping ontrac lasership dhl dhl_ecommerce fedex_freight')
    ) AS m (code, slugs)
    JOIN locales l ON l.code = m.code
    CROSS JOIN LATERAL unnest(string_to_array(m.slugs, ' ')) WITH ORDINALITY AS s (slug, ord)
    JOIN carriers cr ON cr.name = s.slug
),
lookup AS (
    SELECT -- each company's locale, by company id: a uniform draw over it picks locales in their share
           (SELECT array_agg(locale_id ORDER BY id) FROM companies) AS locale_of,
           -- companies in blocks by locale (start and length of each block, by locale id); inside
           -- a block, P(rank <= r) = sqrt(r / n) when picked with u^2: the oldest are the biggest
           (SELECT array_agg(id ORDER BY locale_id, id) FROM companies) AS company_block,
           (SELECT array_agg(start ORDER BY locale_id) FROM (
                SELECT locale_id, sum(count(*)) OVER (ORDER BY locale_id) - count(*) + 1 AS start
                FROM companies GROUP BY locale_id) AS b) AS company_start,
           (SELECT array_agg(n ORDER BY locale_id) FROM (
                SELECT locale_id, count(*) AS n FROM companies GROUP BY locale_id) AS b) AS company_count,
           -- each company's users (consecutive ids), by company id
           (SELECT array_agg(first_id ORDER BY company_id) FROM (
                SELECT company_id, min(id) AS first_id FROM users GROUP BY company_id) AS u) AS first_user,
           (SELECT array_agg(n ORDER BY company_id) FROM (
                SELECT company_id, count(*) AS n FROM users GROUP BY company_id) AS u) AS user_count,
           -- carriers in blocks by market, like the companies
           (SELECT array_agg(carrier_id ORDER BY locale_id, ord) FROM market_carrier) AS carrier_block,
           (SELECT array_agg(start ORDER BY locale_id) FROM (
                SELECT locale_id, sum(count(*)) OVER (ORDER BY locale_id) - count(*) + 1 AS start
                FROM market_carrier GROUP BY locale_id) AS b) AS carrier_start,
           (SELECT array_agg(n ORDER BY locale_id) FROM (
                SELECT locale_id, count(*) AS n FROM market_carrier GROUP BY locale_id) AS b) AS carrier_count,
           (SELECT max(id) FROM administrators) AS n_admins,
           -- 100 slots per choice, each value repeated as often as its percentage
           (SELECT array_agg(t.id ORDER BY w.ord, k)
              FROM (VALUES (1, 'delayed', 22), (2, 'overweight', 18), (3, 'delivery_attempt', 14),
                           (4, 'lost', 10), (5, 'damaged', 9), (6, 'address_change', 8), (7, 'return', 6),
                           (8, 'refund', 6), (9, 'pickup', 4), (10, 'invoice', 3)) AS w (ord, name, pct)
              JOIN ticket_types t ON t.name = w.name, generate_series(1, w.pct) AS k) AS type_slots,
           (SELECT array_agg(s.id ORDER BY w.ord, k)
              FROM (VALUES (1, 'accepted', 45), (2, 'rejected', 20), (3, 'closed', 30),
                           (4, 'cancelled', 5)) AS w (ord, name, pct)
              JOIN ticket_statuses s ON s.name = w.name, generate_series(1, w.pct) AS k) AS resolved_slots,
           (SELECT array_agg(s.id ORDER BY w.ord, k)
              FROM (VALUES (1, 'pending', 40), (2, 'in_review', 30), (3, 'waiting_customer', 15),
                           (4, 'escalated', 15)) AS w (ord, name, pct)
              JOIN ticket_statuses s ON s.name = w.name, generate_series(1, w.pct) AS k) AS open_slots
),
-- One row per ticket with its hashes, each computed once (OFFSET 0 keeps the subquery from being
-- flattened into every expression that uses it).
hashed AS (
    SELECT g AS id,
           hashint8extended(g, p.seed + 41) AS h1, hashint8extended(g, p.seed + 42) AS h2,
           hashint8extended(g, p.seed + 43) AS h3, hashint8extended(g, p.seed + 44) AS h4,
           hashint8extended(g, p.seed + 45) AS h5
    FROM params p, generate_series(1, p.n_tickets) AS g
    OFFSET 0
),
-- Uniform draws in [0, 1) are 20-bit slices of the hashes. Times are whole seconds from the start
-- of the two years; the rate triples over them (inverse of the CDF (x + x^2) / 2) and each ticket
-- starts inside its own slot, so ids follow creation order.
draw AS (
    SELECT h.id, p.anchor_s - p.span_s AS start_s,
           lk.locale_of[1 + floor(cardinality(lk.locale_of) * ((h1 >> 20) & 1048575)::float8 / 1048576)::int] AS locale_id,
           ((h1 >> 40) & 1048575)::float8 / 1048576 AS company_draw,
           floor(p.span_s * (sqrt(1 + 8 * (h.id - 1 + (h1 & 1048575)::float8 / 1048576) / p.n_tickets) - 1) / 2) AS created_s,
           3600 + floor(860400 * (((h3 >> 20) & 1048575)::float8 / 1048576) ^ 2) AS resolution_s,
           lk.type_slots[1 + ((h2 >> 40) & 1048575) % 100] AS type_id,
           CASE WHEN ((h5 >> 40) & 1048575) % 100 < 98
                THEN 1 + floor(lk.n_admins * (h4 & 1048575)::float8 / 1048576)::int END AS assigned_admin_id,
           h2, h3, h4, h5
    FROM hashed h, params p, lookup lk
    OFFSET 0
),
settled AS (
    SELECT d.*,
           d.created_s + d.resolution_s <= p.span_s
               AND NOT (d.created_s > p.span_s - 30 * 86400 AND ((d.h3 >> 40) & 1048575) % 10 < 3) AS resolved,
           lk.company_block[lk.company_start[d.locale_id]
                            + floor(lk.company_count[d.locale_id] * d.company_draw ^ 2)::int] AS company_id
    FROM draw d, params p, lookup lk
    OFFSET 0
)
SELECT s.id, s.company_id,
       CASE WHEN (s.h5 & 1048575) % 100 < 90  -- 10 % opened by an agent for no particular user
            THEN lk.first_user[s.company_id] + floor(lk.user_count[s.company_id] * (s.h2 & 1048575)::float8 / 1048576)::bigint END,
       s.type_id,
       CASE WHEN s.resolved THEN lk.resolved_slots[1 + (s.h3 & 1048575) % 100]
            ELSE lk.open_slots[1 + (s.h3 & 1048575) % 100] END,
       CASE WHEN ((s.h5 >> 20) & 1048575) % 100 < 95
            THEN lk.carrier_block[lk.carrier_start[s.locale_id]
                                  + floor(lk.carrier_count[s.locale_id] * (((s.h2 >> 20) & 1048575)::float8 / 1048576) ^ 2)::int] END,
       s.assigned_admin_id,
       CASE WHEN NOT s.resolved THEN NULL
            WHEN s.assigned_admin_id IS NOT NULL AND ((s.h4 >> 20) & 1048575) % 100 < 85 THEN s.assigned_admin_id
            ELSE 1 + floor(lk.n_admins * ((s.h4 >> 40) & 1048575)::float8 / 1048576)::int END,
       to_timestamp(s.start_s + s.created_s),
       CASE WHEN s.resolved THEN to_timestamp(s.start_s + s.created_s + s.resolution_s) END
FROM settled s, lookup lk;
