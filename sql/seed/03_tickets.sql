-- 03_tickets.sql: support tickets (ceil(0.65 * ratings)) over the two years before 2026-11-01, ids in creation order.
-- Params: ratings bigint, random_seed int
-- psql -v ON_ERROR_STOP=1 -v ratings=1000 -v random_seed=42 -d "$DATABASE_URL" -f sql/seed/03_tickets.sql
--
-- The anchor date is fixed (not now()) so the data is the same whenever it is generated. Volume
-- grows threefold over the two years. Resolution takes 1 hour to 10 days; tickets that would be
-- resolved after the anchor are still open, as is a backlog of 30 % of the last month's tickets.
-- Most tickets are rated later (05_ratings.sql), which is why there are more tickets than 0.6 * ratings.

INSERT INTO tickets (id, company_id, user_id, type_id, status_id, carrier_id,
                     assigned_admin_id, solved_by_admin_id, created_at, resolved_at)
WITH params AS (
    SELECT ceil(:'ratings'::bigint * 0.65)::bigint AS n_tickets,
           :'random_seed'::int::bigint * 1000 AS seed,
           '2026-11-01'::timestamp AT TIME ZONE 'UTC' AS anchor,
           730 * 86400 AS span_s,
           (SELECT count(*) FROM companies) AS n_companies,
           (SELECT max(id) FROM administrators) AS n_admins
),
-- Within its locale, a company's rank decides its size: P(rank <= r) = sqrt(r / n).
company_rank AS (
    SELECT id, locale_id,
           row_number() OVER (PARTITION BY locale_id ORDER BY id) AS rnk,
           count(*) OVER (PARTITION BY locale_id) AS n_in_locale
    FROM companies
),
user_range AS (
    SELECT company_id, min(id) AS first_id, count(*) AS n_users FROM users GROUP BY company_id
),
-- Carriers each market uses, most used first.
carrier_pool AS (
    SELECT l.id AS locale_id, array_agg(c.id ORDER BY s.ord) AS ids
    FROM (VALUES
        ('mx', 'estafeta fedex dhl redpack paquetexpress 99minutos jtexpress ups sendex ampm tresguerras quiken ivoy castores carssa mercado_envios'),
        ('co', 'coordinadora servientrega interrapidisimo deprisa envia tcc 472 dhl fedex mercado_envios'),
        ('cl', 'chilexpress starken bluexpress correos_chile urbano dhl fedex mercado_envios'),
        ('br', 'correios jadlog loggi azul_cargo total_express braspress mercado_envios dhl fedex'),
        ('us', 'usps ups fedex amazon_shipping ontrac lasership dhl dhl_ecommerce fedex_freight')
    ) AS v (code, slugs)
    CROSS JOIN LATERAL unnest(string_to_array(v.slugs, ' ')) WITH ORDINALITY AS s (slug, ord)
    JOIN carriers c ON c.name = s.slug
    JOIN locales l ON l.code = v.code
    GROUP BY l.id
),
draw AS (
    SELECT g AS id, p.anchor, p.n_admins,
           p.anchor - make_interval(secs => p.span_s
               - floor(p.span_s * (sqrt(1 + 8 * (g - 1 + u.time) / p.n_tickets) - 1) / 2)) AS created_at,
           1 + floor(u.company * p.n_companies)::bigint AS any_company,
           u.*
    FROM params p,
         generate_series(1, p.n_tickets) AS g,
         LATERAL (SELECT hashint8extended(g, p.seed + 41) AS h1, hashint8extended(g, p.seed + 42) AS h2,
                         hashint8extended(g, p.seed + 43) AS h3, hashint8extended(g, p.seed + 44) AS h4,
                         hashint8extended(g, p.seed + 45) AS h5) AS h,
         LATERAL (SELECT (h1 & 1048575)::float8 / 1048576 AS time,
                         ((h1 >> 20) & 1048575)::float8 / 1048576 AS company,
                         ((h1 >> 40) & 1048575)::float8 / 1048576 AS company_size,
                         (h2 & 1048575)::float8 / 1048576 AS user_pick,
                         ((h2 >> 20) & 1048575)::float8 / 1048576 AS carrier,
                         ((h2 >> 40) & 1048575)::float8 / 1048576 AS type,
                         (h3 & 1048575)::float8 / 1048576 AS status,
                         ((h3 >> 20) & 1048575)::float8 / 1048576 AS resolution,
                         ((h3 >> 40) & 1048575)::float8 / 1048576 AS backlog,
                         (h4 & 1048575)::float8 / 1048576 AS assigned,
                         ((h4 >> 20) & 1048575)::float8 / 1048576 AS solver,
                         ((h4 >> 40) & 1048575)::float8 / 1048576 AS other_solver,
                         (h5 & 1048575)::float8 / 1048576 AS has_user,
                         ((h5 >> 20) & 1048575)::float8 / 1048576 AS has_carrier,
                         ((h5 >> 40) & 1048575)::float8 / 1048576 AS has_admin) AS u
),
shaped AS (
    SELECT d.*, c.id AS company_id, c.locale_id,
           d.created_at + make_interval(secs => 3600 + floor(860400 * d.resolution ^ 2)) AS done_at,
           CASE WHEN d.has_admin < 0.98 THEN 1 + floor(d.assigned * d.n_admins)::int END AS assigned_admin_id
    FROM draw d
    JOIN company_rank c0 ON c0.id = d.any_company
    JOIN company_rank c ON c.locale_id = c0.locale_id
                       AND c.rnk = 1 + floor(c0.n_in_locale * d.company_size ^ 2)::bigint
),
settled AS (
    SELECT s.*,
           s.done_at <= s.anchor
               AND NOT (s.created_at > s.anchor - interval '30 days' AND s.backlog < 0.3) AS resolved
    FROM shaped s
)
SELECT s.id, s.company_id,
       CASE WHEN s.has_user < 0.9 THEN ur.first_id + floor(s.user_pick * ur.n_users)::bigint END,
       tt.id, ts.id,
       CASE WHEN s.has_carrier < 0.95 THEN cp.ids[1 + floor(cardinality(cp.ids) * s.carrier ^ 2)::int] END,
       s.assigned_admin_id,
       CASE WHEN NOT s.resolved THEN NULL
            WHEN s.assigned_admin_id IS NOT NULL AND s.solver < 0.85 THEN s.assigned_admin_id
            ELSE 1 + floor(s.other_solver * s.n_admins)::int END,
       s.created_at,
       CASE WHEN s.resolved THEN s.done_at END
FROM settled s
JOIN user_range ur ON ur.company_id = s.company_id
JOIN carrier_pool cp ON cp.locale_id = s.locale_id
JOIN ticket_types tt ON tt.name = CASE
        WHEN s.type < 0.22 THEN 'delayed'          WHEN s.type < 0.40 THEN 'overweight'
        WHEN s.type < 0.54 THEN 'delivery_attempt' WHEN s.type < 0.64 THEN 'lost'
        WHEN s.type < 0.73 THEN 'damaged'          WHEN s.type < 0.81 THEN 'address_change'
        WHEN s.type < 0.87 THEN 'return'           WHEN s.type < 0.93 THEN 'refund'
        WHEN s.type < 0.97 THEN 'pickup'           ELSE 'invoice' END
JOIN ticket_statuses ts ON ts.name = CASE
        WHEN s.resolved THEN CASE WHEN s.status < 0.45 THEN 'accepted' WHEN s.status < 0.65 THEN 'rejected'
                                  WHEN s.status < 0.95 THEN 'closed' ELSE 'cancelled' END
        ELSE CASE WHEN s.status < 0.40 THEN 'pending' WHEN s.status < 0.70 THEN 'in_review'
                  WHEN s.status < 0.85 THEN 'waiting_customer' ELSE 'escalated' END END
ORDER BY s.id;
