-- 04_ticket_comments.sql: the chat of each ticket, 1-5 messages (about 3) alternating customer and agent.
-- Params: ratings bigint, random_seed int
-- psql -v ratings=1000 -v random_seed=42 -d "$DATABASE_URL" -f sql/seed/04_ticket_comments.sql
-- ratings is not used here (the tickets already exist).
--
-- The customer writes first (odd messages) when the ticket has a user, the agent answers (the
-- assigned one, or any agent when none is). Messages fall in order between the ticket's
-- creation and its resolution (or the anchor date for open tickets), in the market's language.
-- Ids follow the ticket ids: ticket t's messages are 5 * (t - 1) + 1, + 2, ... (with gaps, as
-- deleted rows would leave; numbering them densely would cost a sort of all tickets).

INSERT INTO ticket_comments (id, ticket_id, admin_id, user_id, body, created_at)
WITH params AS NOT MATERIALIZED (
    SELECT :'random_seed'::int::bigint * 1000 AS seed,
           date_part('epoch', timestamp '2026-11-01') AS anchor_s  -- UTC, in seconds
),
-- Arrays in one row instead of joins (see 03_tickets.sql). Lines: one row per language
-- (1 es, 2 pt, 3 en), the same number in each.
lookup AS (
    SELECT (SELECT array_agg(locale_id ORDER BY id) FROM companies) AS locale_of,
           (SELECT array_agg(CASE code WHEN 'br' THEN 2 WHEN 'us' THEN 3 ELSE 1 END ORDER BY id)
              FROM locales) AS language_of,
           (SELECT max(id)::int FROM administrators) AS n_admins,
           ARRAY[['Hola, mi paquete no se ha movido desde hace tres días.',
                  'Adjunto fotos de la caja dañada.',
                  'La guía marca un sobrepeso que no corresponde, el paquete pesa 2 kg.',
                  '¿Me pueden dar una fecha estimada de entrega?',
                  'Ya pasaron 48 horas y sigo sin respuesta.',
                  'Necesito cambiar la dirección de entrega, por favor.',
                  'El repartidor dejó un aviso de "visita", pero nadie tocó el timbre.',
                  'Gracias, quedo atento.'],
                 ['Olá, meu pacote está parado há três dias.',
                  'Segue foto da caixa danificada.',
                  'Cobraram excesso de peso, mas o pacote pesa 2 kg.',
                  'Podem informar uma previsão de entrega?',
                  'Já se passaram 48 horas sem resposta.',
                  'Preciso alterar o endereço de entrega, por favor.',
                  'O entregador marcou "destinatário ausente", mas eu estava em casa.',
                  'Obrigado, fico no aguardo.'],
                 ['Hi, my package has not moved in three days.',
                  'Attaching photos of the damaged box.',
                  'I was charged for overweight but the parcel weighs 2 kg.',
                  'Can you give me an estimated delivery date?',
                  'It has been 48 hours and still no answer.',
                  'I need to change the delivery address, please.',
                  'The driver left a "sorry we missed you" note, but nobody rang the bell.',
                  'Thanks, looking forward to your reply.']] AS customer_lines,
           ARRAY[['Hola, gracias por escribirnos. Ya estamos revisando tu caso con la paquetería.',
                  'Levantamos el reporte con el carrier; te compartimos el folio en cuanto lo tengamos.',
                  'Solicitamos al carrier la evidencia de entrega.',
                  'Se aplicó el ajuste de sobrepeso a tu saldo.',
                  'Tu reembolso fue aprobado y se verá reflejado en 3 a 5 días hábiles.',
                  'El carrier confirma un nuevo intento de entrega para mañana.',
                  'Seguimos en espera de respuesta del carrier, te mantenemos informado.',
                  'Cerramos el ticket; si necesitas algo más, responde este mensaje.'],
                 ['Olá, obrigado pelo contato. Já estamos analisando seu caso com a transportadora.',
                  'Abrimos uma ocorrência com a transportadora e enviaremos o protocolo.',
                  'Solicitamos o comprovante de entrega à transportadora.',
                  'O ajuste de peso foi creditado no seu saldo.',
                  'Seu reembolso foi aprovado e será creditado em até 5 dias úteis.',
                  'A transportadora confirmou uma nova tentativa de entrega amanhã.',
                  'Ainda aguardamos o retorno da transportadora, avisaremos você.',
                  'Estamos encerrando o chamado; se precisar, é só responder.'],
                 ['Hi, thanks for reaching out. We are checking your case with the carrier.',
                  'We opened a claim with the carrier and will share the reference number.',
                  'We requested proof of delivery from the carrier.',
                  'The overweight adjustment was credited to your balance.',
                  'Your refund was approved and will show up in 3-5 business days.',
                  'The carrier confirmed a new delivery attempt for tomorrow.',
                  'Still waiting for the carrier to answer, we will keep you posted.',
                  'Closing this ticket; reply here if you need anything else.']] AS agent_lines
),
per_ticket AS (
    SELECT t.id, t.user_id, t.assigned_admin_id, t.company_id,
           date_part('epoch', t.created_at) AS start_s,
           coalesce(date_part('epoch', t.resolved_at), p.anchor_s) - date_part('epoch', t.created_at) AS length_s,
           1 + (hashint8extended(t.id, p.seed + 61) & 1048575) % 5 AS n_comments
    FROM tickets t, params p
),
message AS (
    SELECT n.id AS ticket_id, 5 * (n.id - 1) + c.k AS id, c.k, n.n_comments, n.user_id, n.assigned_admin_id,
           n.start_s, n.length_s, n.company_id,
           hashint8extended(5 * (n.id - 1) + c.k, p.seed + 62) AS h
    FROM per_ticket n
    CROSS JOIN params p
    JOIN (VALUES (1), (2), (3), (4), (5)) AS c (k) ON c.k <= n.n_comments
    OFFSET 0
)
SELECT m.id, m.ticket_id,
       CASE WHEN m.k % 2 = 0 OR m.user_id IS NULL
            THEN coalesce(m.assigned_admin_id, 1 + ((m.h >> 40) & 1048575)::int % lk.n_admins) END,
       CASE WHEN m.k % 2 = 1 THEN m.user_id END,
       CASE WHEN m.k % 2 = 1 AND m.user_id IS NOT NULL
            THEN lk.customer_lines[lk.language_of[lk.locale_of[m.company_id]]][1 + (m.h & 1048575) % 8]
            ELSE lk.agent_lines[lk.language_of[lk.locale_of[m.company_id]]][1 + (m.h & 1048575) % 8] END,
       -- Message k falls in the k-th of n equal slices of the ticket's life.
       to_timestamp(m.start_s + floor(m.length_s * (m.k - 1 + 0.9::float8 * ((m.h >> 20) & 1048575)::float8 / 1048576) / m.n_comments))
FROM message m, lookup lk;

SELECT setval(pg_get_serial_sequence('ticket_comments', 'id'), max(id)) FROM ticket_comments;
