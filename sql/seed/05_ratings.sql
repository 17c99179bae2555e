-- 05_ratings.sql: exactly `ratings` ratings, ~60 % surveys of resolved tickets and the rest carrier and shop ratings; ids in date order.
-- Params: ratings bigint, random_seed int
-- psql -v ratings=1000 -v random_seed=42 -d "$DATABASE_URL" -f sql/seed/05_ratings.sql
--
-- A ticket's survey is answered (94.5 % of them) 5 minutes to 3 days after it was resolved, never
-- after the anchor date; it carries the ticket's company, user and carrier. The other ratings are
-- split 25:15 between carrier (a shipment id, always a carrier) and shop (an order id, a carrier
-- 70 % of the time), spread like the tickets over the two years. Scores are J-shaped (5 55 %,
-- 4 18 %, 3 7 %, 2 6 %, 1 14 %), tilted by the ticket's outcome (rejected lower, accepted higher).
-- Comments (~60 %, more often on low scores) are Spanish, Portuguese (mostly Brazil) or English
-- sentences that fit the score. 20 % of ratings come from WhatsApp.
-- A survey carries its ticket's type, assigned agent (migration 0023) and resolution-time bucket (0025). The trigger that
-- derives them row by row is off for this one INSERT: it would look up each ticket while
-- tickets has no primary key yet (csat/seed.py rebuilds keys after the load). The change log
-- (migration 0030) is off too: nothing is remembered from before a seed (00_reset.sql's
-- TRUNCATE retired it), so there is nothing to bring up to date.

ALTER TABLE ratings DISABLE TRIGGER ratings_ticket_facts;
ALTER TABLE ratings DISABLE TRIGGER rating_log_insert;

INSERT INTO ratings (score, comment, source, source_platform, reference_id, ticket_id,
                     company_id, locale_id, user_id, carrier_id, created_at,
                     ticket_type_id, assigned_admin_id, ticket_resolution)
WITH params AS NOT MATERIALIZED (
    SELECT :'ratings'::bigint AS n_ratings,
           :'random_seed'::int::bigint * 1000 AS seed,
           date_part('epoch', timestamp '2026-11-01') AS anchor_s,  -- UTC, in seconds
           730 * 86400.0::float8 AS span_s
),
-- Carriers of each market, most used first (as in 03_tickets.sql).
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
-- Arrays in one row instead of joins (see 03_tickets.sql). NOT MATERIALIZED turns each into a
-- parameter computed once, rather than a row joined to each of a million.
lookup AS NOT MATERIALIZED (
    SELECT (SELECT array_agg(locale_id ORDER BY id) FROM companies) AS locale_of,
           (SELECT array_agg(id ORDER BY locale_id, id) FROM companies) AS company_block,
           (SELECT array_agg(start ORDER BY locale_id) FROM (
                SELECT locale_id, sum(count(*)) OVER (ORDER BY locale_id) - count(*) + 1 AS start
                FROM companies GROUP BY locale_id) AS b) AS company_start,
           (SELECT array_agg(n ORDER BY locale_id) FROM (
                SELECT locale_id, count(*) AS n FROM companies GROUP BY locale_id) AS b) AS company_count,
           (SELECT array_agg(first_id ORDER BY company_id) FROM (
                SELECT company_id, min(id) AS first_id FROM users GROUP BY company_id) AS u) AS first_user,
           (SELECT array_agg(n ORDER BY company_id) FROM (
                SELECT company_id, count(*) AS n FROM users GROUP BY company_id) AS u) AS user_count,
           (SELECT array_agg(carrier_id ORDER BY locale_id, ord) FROM market_carrier) AS carrier_block,
           (SELECT array_agg(start ORDER BY locale_id) FROM (
                SELECT locale_id, sum(count(*)) OVER (ORDER BY locale_id) - count(*) + 1 AS start
                FROM market_carrier GROUP BY locale_id) AS b) AS carrier_start,
           (SELECT array_agg(n ORDER BY locale_id) FROM (
                SELECT locale_id, count(*) AS n FROM market_carrier GROUP BY locale_id) AS b) AS carrier_count,
           (SELECT id FROM ticket_statuses WHERE name = 'rejected') AS rejected,
           (SELECT id FROM ticket_statuses WHERE name = 'accepted') AS accepted,
           -- 20 language slots per locale (1 es, 2 pt, 3 en), by locale id
           (SELECT array_agg(CASE code
                       WHEN 'br' THEN '{2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,2,1,3}'::int[]
                       WHEN 'us' THEN '{3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,1,1,1,1}'::int[]
                       ELSE           '{1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,3,2}'::int[] END ORDER BY id)
              FROM locales) AS language_slots,
           -- Comment lines: one row per language and mood, row = 3 * (language - 1) + mood, where
           -- mood is 1 for scores 1-2, 2 for 3 and 3 for 4-5; ten lines each, and three short
           -- second sentences that 30 % of comments add.
           ARRAY[['El paquete llegó tarde y nadie me avisó.',
                  'Pésimo servicio, el envío se perdió y no me dan solución.',
                  'Me cobraron sobrepeso sin justificación.',
                  'El repartidor marcó "no había nadie", pero yo estaba en casa todo el día.',
                  'Tardaron más de una semana en responder mi ticket.',
                  'La caja llegó dañada y el producto roto.',
                  'Nadie contesta por WhatsApp, muy mala experiencia.',
                  'Cerraron mi reporte sin resolverlo.',
                  'El reembolso sigue pendiente, ya van tres semanas.',
                  'La guía dice "entregado", pero nunca recibí nada.'],
                 ['Llegó bien, aunque un día después de lo prometido.',
                  'El servicio fue regular, podría mejorar la comunicación.',
                  'Resolvieron el problema, pero tardaron bastante.',
                  'Todo bien, sin más.',
                  'La atención fue correcta, aunque tuve que insistir.',
                  'El paquete llegó completo, pero la caja venía golpeada.',
                  'Ni bien ni mal, cumplieron con lo mínimo.',
                  'Me respondieron rápido, pero la solución no fue la que esperaba.',
                  'Tardó un poco, pero llegó.',
                  'Aceptable, aunque el rastreo de la guía no se actualizaba.'],
                 ['Excelente servicio, muy rápido y amable.',
                  'Todo perfecto, llegó antes de lo esperado.',
                  'Muy buena atención, resolvieron mi problema en minutos.',
                  'Gracias por la ayuda, el agente fue muy claro.',
                  'Súper recomendados, 100% confiables.',
                  'El reembolso se aplicó el mismo día, ¡gracias!',
                  'Rápido, seguro y con buen seguimiento.',
                  'Me encantó la rapidez, seguiré enviando con ustedes.',
                  'La atención de "soporte" fue excelente, como siempre.',
                  'Todo excelente.'],
                 ['A encomenda atrasou e ninguém me avisou.',
                  'Péssimo atendimento, o pacote foi extraviado.',
                  'Cobraram excesso de peso sem motivo.',
                  'O entregador disse que "não havia ninguém", mas eu estava em casa.',
                  'Demoraram mais de uma semana para responder.',
                  'A caixa chegou danificada e o produto quebrado.',
                  'Fecharam o chamado sem resolver nada.',
                  'Ainda estou esperando o reembolso, já faz três semanas.',
                  'O rastreio diz "entregue", mas não recebi nada.',
                  'Não recomendo, experiência muito ruim.'],
                 ['Chegou tudo certo, mas com um dia de atraso.',
                  'Atendimento razoável, poderia ser mais rápido.',
                  'Resolveram, mas demorou bastante.',
                  'Nem bom nem ruim, cumpriram o básico.',
                  'O produto chegou inteiro, mas a embalagem estava amassada.',
                  'Responderam rápido, porém a solução não foi a ideal.',
                  'Demorou um pouco, mas chegou.',
                  'Ok, mas o rastreio não atualizava.',
                  'Tive que insistir, mas resolveram.',
                  'Atendimento correto, nada de especial.'],
                 ['Excelente atendimento, muito rápido!',
                  'Tudo perfeito, chegou antes do prazo.',
                  'Resolveram meu problema em poucos minutos, obrigado!',
                  'Atendente muito educado e prestativo.',
                  'Recomendo demais, serviço 100% confiável.',
                  'O reembolso caiu no mesmo dia, nota 10.',
                  'Ótimo acompanhamento pelo WhatsApp.',
                  'Entrega rápida e segura, parabéns à equipe.',
                  'Muito bom, como sempre.',
                  'Adorei a agilidade, vou continuar enviando com vocês.'],
                 ['My package arrived late and nobody told me why.',
                  'Terrible service, the shipment was lost and there is no solution.',
                  'I was charged for overweight without any explanation.',
                  'The driver wrote "nobody home", but I was there all day.',
                  'It took more than a week to get an answer to my ticket.',
                  'The box arrived crushed and the item was broken.',
                  'They closed my ticket without fixing anything.',
                  'Still waiting for my refund after three weeks.',
                  'Tracking says delivered, but I never got it.',
                  'Would not use this carrier again.'],
                 ['It arrived fine, but a day later than promised.',
                  'The service was okay, communication could be better.',
                  'They solved it, but it took a while.',
                  'Nothing special, it did the job.',
                  'The item was fine, the box was a bit damaged.',
                  'Quick reply, although the answer wasn''t what I expected.',
                  'A little slow, but it got here.',
                  'Okay, but tracking never updated.',
                  'I had to insist, but they fixed it.',
                  'Decent support, nothing more.'],
                 ['Great service, fast and friendly.',
                  'Everything was perfect, it arrived early.',
                  'The agent solved my issue in minutes, thank you!',
                  'Very helpful support, clear and polite.',
                  'Highly recommended, 100% reliable.',
                  'Refund processed the same day, awesome.',
                  'Fast, safe and great tracking.',
                  'Excellent support on WhatsApp, they explained everything.',
                  'Smooth experience, as always.',
                  'Loved how quick it was, I''ll keep shipping with you.']] AS lines,
           ARRAY[['Espero que lo mejoren.', 'Ya es la segunda vez que me pasa.', 'Muy decepcionante.'],
                 ['Gracias.', 'Saludos.', 'Pueden mejorar.'],
                 ['¡Sigan así!', 'Gracias a todo el equipo.', '10 de 10.'],
                 ['Espero que melhorem.', 'Já é a segunda vez.', 'Muito decepcionante.'],
                 ['Obrigado.', 'Abraços.', 'Podem melhorar.'],
                 ['Continuem assim!', 'Obrigado a toda a equipe.', 'Nota 10.'],
                 ['Please fix this.', 'Second time this happens.', 'Very disappointing.'],
                 ['Thanks.', 'Cheers.', 'Room for improvement.'],
                 ['Keep it up!', 'Thanks to the whole team.', '10/10.']] AS extras
),
-- Surveys of resolved tickets. key (the ticket id here, minus the row number for the others)
-- seeds the draws common to both kinds of rating; outcome tilts the score.
surveys AS (
    SELECT t.id AS key, 'ticket' AS source, t.id AS reference_id, t.id AS ticket_id,
           t.company_id, lk.locale_of[t.company_id] AS locale_id, t.user_id, t.carrier_id, t.at_s,
           CASE t.status_id WHEN lk.rejected THEN 1 WHEN lk.accepted THEN 2 ELSE 0 END AS outcome,
           t.type_id AS ticket_type_id, t.assigned_admin_id,
           csat_resolution_bucket(t.created_at, t.resolved_at) AS ticket_resolution
    FROM (SELECT t.id, t.company_id, t.user_id, t.carrier_id, t.status_id, t.type_id, t.assigned_admin_id,
                 t.created_at, t.resolved_at,
                 date_part('epoch', t.resolved_at) + 300
                     + floor(258900 * (((h >> 20) & 1048575)::float8 / 1048576) ^ 3) AS at_s
          FROM tickets t, params p, LATERAL (SELECT hashint8extended(t.id, p.seed + 51) AS h) AS x
          WHERE t.resolved_at IS NOT NULL AND (h & 1048575) % 1000 < 945
          OFFSET 0) AS t,
         params p, lookup lk
    WHERE t.at_s <= p.anchor_s
),
-- Carrier and shop ratings make up the rest, in creation order like the tickets.
others AS (
    SELECT -g AS key, o.source,
           CASE o.source WHEN 'carrier' THEN 1000000000 + g * 17 + ((h1 >> 20) & 1048575) % 17
                         ELSE 3000000 + g * 5 + ((h1 >> 20) & 1048575) % 5 END AS reference_id,
           NULL::bigint AS ticket_id, o.company_id, o.locale_id,
           CASE WHEN (h2 & 1048575) % 100 < 90
                THEN lk.first_user[o.company_id]
                     + floor(lk.user_count[o.company_id] * ((h2 >> 20) & 1048575)::float8 / 1048576)::bigint END AS user_id,
           CASE WHEN o.source = 'carrier' OR ((h2 >> 40) & 1048575) % 100 < 70
                THEN lk.carrier_block[lk.carrier_start[o.locale_id]
                                      + floor(lk.carrier_count[o.locale_id] * (((h1 >> 40) & 1048575)::float8 / 1048576) ^ 2)::int] END AS carrier_id,
           o.at_s,
           0 AS outcome,
           NULL::smallint AS ticket_type_id, NULL::integer AS assigned_admin_id,
           NULL::text AS ticket_resolution
    FROM (SELECT g, h1, h2, l.locale_id,
                 CASE WHEN (h1 & 1048575) % 40 < 25 THEN 'carrier' ELSE 'shop' END AS source,
                 lk.company_block[lk.company_start[l.locale_id]
                                  + floor(lk.company_count[l.locale_id] * (((h3 >> 40) & 1048575)::float8 / 1048576) ^ 2)::int] AS company_id,
                 n.start_s + floor(n.span_s * (sqrt(1 + 8 * (g - 1 + (h3 & 1048575)::float8 / 1048576) / n.n_others) - 1) / 2) AS at_s
          FROM (SELECT greatest(0, p.n_ratings - (SELECT count(*) FROM surveys)) AS n_others,
                       p.anchor_s - p.span_s AS start_s, p.span_s, p.seed
                FROM params p
                OFFSET 0) AS n,
               lookup lk,
               generate_series(1, n.n_others) AS g,
               LATERAL (SELECT hashint8extended(g, n.seed + 52) AS h1, hashint8extended(g, n.seed + 53) AS h2,
                               hashint8extended(g, n.seed + 54) AS h3) AS h,
               LATERAL (SELECT lk.locale_of[1 + floor(cardinality(lk.locale_of) * ((h3 >> 20) & 1048575)::float8 / 1048576)::int] AS locale_id) AS l
          OFFSET 0) AS o,
         lookup lk
),
-- Both kinds together. Ids come from the identity column in date order (ORDER BY at the end;
-- 00_reset.sql restarts it at 1), ties (same second) broken by key.
dated AS (
    SELECT * FROM surveys UNION ALL SELECT * FROM others
),
scored AS (
    SELECT d.*, hashint8extended(d.key, p.seed + 55) AS h, hashint8extended(d.key, p.seed + 56) AS h2,
           -- the score's uniform draw, pulled down by a rejected ticket and up by an accepted one
           CASE d.outcome WHEN 1 THEN 0.5::float8 WHEN 2 THEN 0.9::float8 ELSE 1::float8 END
               * ((hashint8extended(d.key, p.seed + 56) & 1048575)::float8 / 1048576)
               + CASE d.outcome WHEN 2 THEN 0.1::float8 ELSE 0::float8 END AS score_u
    FROM dated d, params p
    OFFSET 0
),
rated AS (
    SELECT s.*,
           CASE WHEN score_u < 0.14 THEN 1 WHEN score_u < 0.20 THEN 2 WHEN score_u < 0.27 THEN 3
                WHEN score_u < 0.45 THEN 4 ELSE 5 END AS score
    FROM scored s
    OFFSET 0
),
worded AS (
    SELECT r.*,
           -- comment or not, by score; then the line's row (language and mood)
           CASE WHEN ((r.h2 >> 20) & 1048575) % 100
                     < CASE r.score WHEN 1 THEN 85 WHEN 2 THEN 80 WHEN 3 THEN 65 WHEN 4 THEN 50 ELSE 55 END
                THEN 3 * (lk.language_slots[r.locale_id][1 + ((r.h2 >> 40) & 1048575) % 20] - 1)
                     + CASE WHEN r.score <= 2 THEN 1 WHEN r.score = 3 THEN 2 ELSE 3 END END AS line_row
    FROM rated r, lookup lk
)
SELECT w.score,
       CASE WHEN w.line_row IS NULL THEN NULL
            WHEN ((w.h >> 50) & 1023) % 10 < 3
            THEN lk.lines[w.line_row][1 + (w.h & 1048575) % 10] || ' ' || lk.extras[w.line_row][1 + ((w.h >> 20) & 1048575) % 3]
            ELSE lk.lines[w.line_row][1 + (w.h & 1048575) % 10] END,
       w.source,
       CASE WHEN ((w.h >> 40) & 1023) % 10 < 8 THEN 'platform' ELSE 'whatsapp' END,
       w.reference_id, w.ticket_id, w.company_id, w.locale_id, w.user_id, w.carrier_id,
       to_timestamp(w.at_s), w.ticket_type_id, w.assigned_admin_id, w.ticket_resolution
FROM worded w, lookup lk
ORDER BY w.at_s, w.key;

ALTER TABLE ratings ENABLE TRIGGER ratings_ticket_facts;
ALTER TABLE ratings ENABLE TRIGGER rating_log_insert;
