-- 06_follow_ups.sql: agents' follow-ups on ~10 % of ratings (mostly low scores), a fifth of them edited once, with history.
-- Params: ratings bigint, random_seed int
-- psql -v ratings=1000 -v random_seed=42 -d "$DATABASE_URL" -f sql/seed/06_follow_ups.sql
-- ratings is not used here (the ratings already exist).
--
-- Chance of a follow-up by score: 1 40 %, 2 36 %, 3 14 %, 4 3.5 %, 5 1.5 %. It is written 10 minutes
-- to 5 days after the rating; an edit (by the same agent 70 % of the time) 1 hour to 7 days
-- later, and the text it replaced goes to rating_follow_up_history. Nothing is dated after the
-- anchor date. Notes are in the market's language.
-- The change log (migration 0030) is off for the load, as in 05_ratings.sql; the horizon then
-- moves past the load, so nothing remembered while it ran is brought up to date without it.

ALTER TABLE rating_follow_ups DISABLE TRIGGER rating_log_insert;

WITH params AS NOT MATERIALIZED (
    SELECT :'random_seed'::int::bigint * 1000 AS seed,
           date_part('epoch', timestamp '2026-11-01') AS anchor_s  -- UTC, in seconds
),
pools (lang, first_notes, edited_notes) AS (
    VALUES
    ('es', ARRAY['Se contactó al cliente por teléfono; se ofreció reembolso del envío.',
                 'Cliente molesto por el retraso; se escaló con el carrier.',
                 'Se envió disculpa y cupón de descuento.',
                 'Se revisó la guía con el carrier y se abrió reclamo por daño.',
                 'Llamada sin respuesta, se dejó mensaje por WhatsApp.',
                 'Se validó el sobrepeso con fotos; se aplicó ajuste a favor del cliente.',
                 'Se explicó el proceso de reclamo y los tiempos de respuesta.',
                 'Cliente satisfecho con la atención, sin acciones pendientes.'],
           ARRAY['Actualización - el carrier aceptó el reclamo y se reembolsó al cliente.',
                 'Cliente confirma que recibió su paquete; caso cerrado.',
                 'Se reasignó al equipo de cobranza para el ajuste.',
                 'Segundo contacto, el cliente agradece la atención.',
                 'Reembolso aplicado; se cierra el seguimiento.']),
    ('pt', ARRAY['Cliente contatado por telefone; oferecemos reembolso do frete.',
                 'Cliente insatisfeito com o atraso; escalado com a transportadora.',
                 'Enviamos pedido de desculpas e cupom de desconto.',
                 'Revisamos o rastreio com a transportadora e abrimos ocorrência de avaria.',
                 'Ligação sem resposta, deixamos mensagem pelo WhatsApp.',
                 'Cliente satisfeito com o atendimento, nada pendente.'],
           ARRAY['Atualização - a transportadora aceitou a ocorrência e o cliente foi reembolsado.',
                 'Cliente confirmou o recebimento; caso encerrado.',
                 'Segundo contato, o cliente agradeceu o retorno.',
                 'Reembolso aplicado; acompanhamento encerrado.']),
    ('en', ARRAY['Called the customer; offered a shipping refund.',
                 'Customer upset about the delay; escalated to the carrier.',
                 'Sent an apology and a discount coupon.',
                 'Checked tracking with the carrier and filed a damage claim.',
                 'No answer on the phone, left a WhatsApp message.',
                 'Customer happy with the support, nothing pending.'],
           ARRAY['Update - the carrier accepted the claim and the customer was refunded.',
                 'Customer confirmed delivery; case closed.',
                 'Second contact, the customer thanked us.',
                 'Refund applied; closing the follow-up.'])
),
per_locale AS (
    SELECT l.id AS locale_id, p.first_notes, p.edited_notes
    FROM locales l
    JOIN pools p ON p.lang = CASE l.code WHEN 'br' THEN 'pt' WHEN 'us' THEN 'en' ELSE 'es' END
),
picked AS (
    SELECT r.id AS rating_id, r.locale_id, date_part('epoch', r.created_at) AS rated_s, r.h1,
           hashint8extended(r.id, r.seed + 72) AS h2
    FROM (SELECT r.id, r.locale_id, r.created_at, r.score, p.seed, hashint8extended(r.id, p.seed + 71) AS h1
          FROM ratings r, params p
          OFFSET 0) AS r
    WHERE (r.h1 & 1048575) % 1000
          < CASE r.score WHEN 1 THEN 400 WHEN 2 THEN 360 WHEN 3 THEN 140 WHEN 4 THEN 35 ELSE 15 END
),
drafted AS (
    SELECT pk.rating_id,
           1 + floor(a.n_admins * ((pk.h1 >> 20) & 1048575)::float8 / 1048576)::int AS created_by,
           least(p.anchor_s, pk.rated_s + 600 + floor(431400 * (((pk.h1 >> 40) & 1048575)::float8 / 1048576) ^ 2)) AS created_s,
           (pk.h2 & 1048575) % 100 < 20 AS edited,
           (pk.h2 >> 20) & 1048575 AS h_edit,
           ((pk.h2 >> 40) & 1048575)::float8 / 1048576 AS u_edit_time,
           pl.first_notes[1 + (pk.h2 & 1048575) % cardinality(pl.first_notes)] AS first_note,
           pl.edited_notes[1 + ((pk.h2 >> 40) & 1048575) % cardinality(pl.edited_notes)] AS edited_note
    FROM picked pk
    CROSS JOIN params p
    CROSS JOIN (SELECT max(id)::int AS n_admins FROM administrators) AS a
    JOIN per_locale pl ON pl.locale_id = pk.locale_id
),
followed AS (
    SELECT d.*,
           CASE WHEN d.h_edit % 10 < 7 THEN d.created_by ELSE 1 + (d.h_edit >> 4)::int % a.n_admins END AS edited_by,
           least(p.anchor_s, d.created_s + 3600 + floor(601200 * d.u_edit_time ^ 2)) AS edited_s
    FROM drafted d
    CROSS JOIN params p
    CROSS JOIN (SELECT max(id)::int AS n_admins FROM administrators) AS a
),
-- The follow-ups themselves; the statement's main INSERT below writes the replaced texts.
saved AS (
    INSERT INTO rating_follow_ups (rating_id, comments, created_by, created_at, updated_by, updated_at)
    SELECT rating_id, CASE WHEN edited THEN edited_note ELSE first_note END, created_by, to_timestamp(created_s),
           CASE WHEN edited THEN edited_by END, CASE WHEN edited THEN to_timestamp(edited_s) END
    FROM followed
    RETURNING rating_id
)
INSERT INTO rating_follow_up_history (rating_id, comments, written_by, written_at, replaced_by, replaced_at)
SELECT rating_id, first_note, created_by, to_timestamp(created_s), edited_by, to_timestamp(edited_s)
FROM followed
WHERE edited
ORDER BY rating_id;

ALTER TABLE rating_follow_ups ENABLE TRIGGER rating_log_insert;
UPDATE rating_change_horizon SET version = (SELECT version FROM rating_filter_version);
