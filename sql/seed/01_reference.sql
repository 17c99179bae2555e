-- 01_reference.sql: fixed reference data: locales, carriers, ticket types and statuses, 200 administrators.
-- Params: ratings bigint, random_seed int
-- psql -v ratings=1000 -v random_seed=42 -d "$DATABASE_URL" -f sql/seed/01_reference.sql
-- ratings is not used here; random_seed picks the administrators' names and who has left.
--
-- Pseudo-randomness everywhere in the seed is hashint8extended(row number, seed * 1000 + salt):
-- reproducible across runs, sessions and parallel plans, unlike random()/setseed().

-- Markets. Their share of companies and ratings (60/15/12/8/5 %) is set in 02_companies.sql.
INSERT INTO locales (id, code, name, country) VALUES
    (1, 'mx', 'México',        'MX'),
    (2, 'co', 'Colombia',      'CO'),
    (3, 'cl', 'Chile',         'CL'),
    (4, 'br', 'Brasil',        'BR'),
    (5, 'us', 'United States', 'US');

-- Every locale has its counter row, as after migration 0002; the ratings triggers add to it.
INSERT INTO rating_counts (locale_id, ratings)
SELECT id, 0 FROM locales
ON CONFLICT (locale_id) DO UPDATE SET ratings = 0;

-- name is the slug used in logo URLs, description the display name.
INSERT INTO carriers (id, name, description) VALUES
    ( 1, 'fedex',           'FedEx'),
    ( 2, 'dhl',             'DHL Express'),
    ( 3, 'ups',             'UPS'),
    ( 4, 'usps',            'USPS'),
    ( 5, 'ontrac',          'OnTrac'),
    ( 6, 'lasership',       'LaserShip'),
    ( 7, 'amazon_shipping', 'Amazon Shipping'),
    ( 8, 'estafeta',        'Estafeta'),
    ( 9, 'redpack',         'Redpack'),
    (10, 'paquetexpress',   'Paquetexpress'),
    (11, '99minutos',       '99 Minutos'),
    (12, 'jtexpress',       'J&T Express'),
    (13, 'sendex',          'Sendex'),
    (14, 'ampm',            'AMPM'),
    (15, 'tresguerras',     'Tresguerras'),
    (16, 'quiken',          'Quiken'),
    (17, 'ivoy',            'iVoy'),
    (18, 'castores',        'Castores'),
    (19, 'carssa',          'Carssa'),
    (20, 'coordinadora',    'Coordinadora'),
    (21, 'servientrega',    'Servientrega'),
    (22, 'interrapidisimo', 'Inter Rapidísimo'),
    (23, 'deprisa',         'Deprisa'),
    (24, 'envia',           'Envía'),
    (25, 'tcc',             'TCC'),
    (26, '472',             '4-72'),
    (27, 'chilexpress',     'Chilexpress'),
    (28, 'starken',         'Starken'),
    (29, 'bluexpress',      'Blue Express'),
    (30, 'correos_chile',   'Correos de Chile'),
    (31, 'correios',        'Correios'),
    (32, 'jadlog',          'Jadlog'),
    (33, 'loggi',           'Loggi'),
    (34, 'azul_cargo',      'Azul Cargo Express'),
    (35, 'total_express',   'Total Express'),
    (36, 'braspress',       'Braspress'),
    (37, 'mercado_envios',  'Mercado Envíos'),
    (38, 'dhl_ecommerce',   'DHL eCommerce'),
    (39, 'fedex_freight',   'FedEx Freight'),
    (40, 'urbano',          'Urbano');

INSERT INTO ticket_types (id, name, description) VALUES
    ( 1, 'overweight',       'Overweight'),
    ( 2, 'lost',             'Lost package'),
    ( 3, 'damaged',          'Damaged package'),
    ( 4, 'delivery_attempt', 'Delivery attempt'),
    ( 5, 'delayed',          'Delayed delivery'),
    ( 6, 'return',           'Return to sender'),
    ( 7, 'address_change',   'Address change'),
    ( 8, 'refund',           'Refund request'),
    ( 9, 'pickup',           'Pickup issue'),
    (10, 'invoice',          'Invoice question');

-- The first four are open (no resolved_at), the others resolved.
INSERT INTO ticket_statuses (id, name, description, color) VALUES
    (1, 'pending',          'Pending',               '#ffc107'),
    (2, 'in_review',        'In review',             '#17a2b8'),
    (3, 'waiting_customer', 'Waiting for customer',  '#fd7e14'),
    (4, 'escalated',        'Escalated to carrier',  '#6f42c1'),
    (5, 'accepted',         'Accepted',              '#28a745'),
    (6, 'rejected',         'Rejected',              '#dc3545'),
    (7, 'closed',           'Closed',                '#6c757d'),
    (8, 'cancelled',        'Cancelled',             '#343a40');

-- 200 agents. Admin 1 is always the active "Admin User"; 20 others (10 %) have left.
INSERT INTO administrators (id, name, email, active)
WITH params AS (
    SELECT :'random_seed'::int::bigint * 1000 AS seed
),
pool AS (
    SELECT '{María,José,Juan,Ana,Luis,Carlos,Sofía,Fernanda,Diego,Valentina,Camila,Andrés,Gabriela,Ricardo,Lucía,Pedro,João,Mariana,Rafael,Beatriz,Daniela,Jorge,Paola,Alejandro,Emily,Michael,Jessica,David,Natalia,Miguel,Renata,Tomás}'::text[] AS first_names,
           '{García,Hernández,López,Martínez,González,Rodríguez,Pérez,Sánchez,Ramírez,Torres,Flores,Rivera,Gómez,Díaz,Silva,Santos,Oliveira,Souza,Morales,Castillo,Vargas,Rojas,Muñoz,Smith,Johnson,Ortega,Navarro,Cruz,Mendoza,Ferreira,Reyes,Aguilar}'::text[] AS last_names
),
agent AS (
    SELECT g AS id,
           pool.first_names[1 + (h & 1048575) % cardinality(pool.first_names)] AS first_name,
           pool.last_names[1 + ((h >> 20) & 1048575) % cardinality(pool.last_names)] AS last_name,
           g > 1 AND row_number() OVER (ORDER BY g = 1, hashint8extended(g, params.seed + 12), g) <= 20 AS gone
    FROM params, pool, generate_series(1, 200) AS g,
         LATERAL (SELECT hashint8extended(g, params.seed + 11) AS h) AS x
)
SELECT id,
       CASE WHEN id = 1 THEN 'Admin User' ELSE first_name || ' ' || last_name END,
       CASE WHEN id = 1 THEN 'admin@example.com'
            ELSE translate(lower(first_name || '.' || last_name), 'áéíóúãõâêôçñü', 'aeiouaoaeocnu')
                 || id || '@example.com' END,
       id = 1 OR NOT gone
FROM agent
ORDER BY id;
