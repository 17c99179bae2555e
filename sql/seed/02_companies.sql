-- 02_companies.sql: companies (min(20000, max(50, ratings / 50)), 60/15/12/8/5 % by locale) and their users (1-5 each).
-- Params: ratings bigint, random_seed int
-- psql -v ratings=1000 -v random_seed=42 -d "$DATABASE_URL" -f sql/seed/02_companies.sql

-- A company's locale comes from its rank in a seeded shuffle, so each locale gets exactly its share.
INSERT INTO companies (id, locale_id, name, country)
WITH params AS (
    SELECT least(20000, greatest(50, :'ratings'::bigint / 50)) AS n_companies,
           :'random_seed'::int::bigint * 1000 AS seed
),
share (code, upto_pct) AS (
    VALUES ('mx', 60), ('co', 75), ('cl', 87), ('br', 95), ('us', 100)
),
words (lang, a, b) AS (
    VALUES
    ('es', '{Tienda,Comercializadora,Distribuidora,Boutique,Ferretería,Papelería,Farmacia,Importadora,Abarrotes,Mueblería,Librería,Joyería,Dulcería,Electrónica,Moda,Deportes}'::text[],
           '{Azul,"del Norte","La Esperanza","El Sol",Maya,Andina,Pacífico,Central,Express,Luna,Jaguar,"Los Pinos","San Miguel",Aurora,"Del Valle",Fénix}'::text[]),
    ('pt', '{Loja,Comercial,Distribuidora,Boutique,Papelaria,Farmácia,Importadora,Empório,Casa,Ateliê,Mercearia,Livraria}'::text[],
           '{Azul,"do Sul",Brasil,Estrela,"Sol Nascente",Ipê,Tropical,Paulista,Carioca,Aurora,"Bela Vista",Jardim}'::text[]),
    ('en', '{Blue,Golden,"Main Street",Pacific,Summit,Maple,Liberty,Urban,Evergreen,Northstar,Redwood,Harbor}'::text[],
           '{Goods,"Supply Co.",Outfitters,Market,Trading,Store,Boutique,Gear,Home,Apparel}'::text[])
),
ranked AS (
    SELECT g AS id, h,
           (row_number() OVER (ORDER BY hashint8extended(g, p.seed + 21), g) - 1) * 100.0 / p.n_companies AS pct
    FROM params p, generate_series(1, p.n_companies) AS g,
         LATERAL (SELECT hashint8extended(g, p.seed + 22) AS h) AS x
)
SELECT r.id, l.id,
       w.a[1 + (r.h & 1048575) % cardinality(w.a)] || ' ' || w.b[1 + ((r.h >> 20) & 1048575) % cardinality(w.b)]
           || ' ' || (1 + ((r.h >> 50) & 1023) % 999)
           || CASE WHEN ((r.h >> 40) & 1048575) % 4 <> 0 THEN ''
                   WHEN l.code = 'mx' THEN ' S.A. de C.V.' WHEN l.code = 'co' THEN ' S.A.S.'
                   WHEN l.code = 'cl' THEN ' SpA' WHEN l.code = 'br' THEN ' Ltda.' ELSE ' LLC' END,
       l.country
FROM ranked r
JOIN LATERAL (SELECT s.code FROM share s WHERE r.pct < s.upto_pct ORDER BY s.upto_pct LIMIT 1) s ON true
JOIN locales l ON l.code = s.code
JOIN words w ON w.lang = CASE l.code WHEN 'br' THEN 'pt' WHEN 'us' THEN 'en' ELSE 'es' END
ORDER BY r.id;

-- 1-5 users per company (about 3), ids consecutive per company.
INSERT INTO users (id, company_id, name, email)
WITH params AS (
    SELECT :'random_seed'::int::bigint * 1000 AS seed
),
names (lang, first_names, last_names, domains) AS (
    VALUES
    ('es', '{María,José,Juan,Ana,Luis,Carlos,Sofía,Fernanda,Diego,Valentina,Camila,Andrés,Gabriela,Ricardo,Lucía,Pedro,Mariana,Jorge,Paola,Alejandro,Daniela,Miguel,Natalia,Tomás}'::text[],
           '{García,Hernández,López,Martínez,González,Rodríguez,Pérez,Sánchez,Ramírez,Torres,Flores,Rivera,Gómez,Díaz,Morales,Castillo,Vargas,Rojas,Muñoz,Ortega,Navarro,Cruz,Mendoza,Reyes}'::text[],
           '{gmail.com,hotmail.com,outlook.com,yahoo.com}'::text[]),
    ('pt', '{João,Maria,Ana,Pedro,Lucas,Gabriel,Juliana,Mariana,Rafael,Beatriz,Felipe,Camila,Bruno,Larissa,Thiago,Fernanda}'::text[],
           '{Silva,Santos,Oliveira,Souza,Lima,Pereira,Ferreira,Costa,Rodrigues,Almeida,Nascimento,Carvalho,Araújo,Ribeiro}'::text[],
           '{gmail.com,hotmail.com,outlook.com,uol.com.br}'::text[]),
    ('en', '{James,Mary,John,Patricia,Michael,Jennifer,David,Linda,Emily,Daniel,Jessica,Chris,Sarah,Kevin,Ashley,Brian}'::text[],
           '{Smith,Johnson,Williams,Brown,Jones,Miller,Davis,Wilson,Anderson,Taylor,Thomas,Moore,Martin,Lee,Clark,Lewis}'::text[],
           '{gmail.com,yahoo.com,outlook.com,icloud.com}'::text[])
),
per_company AS (
    SELECT c.id AS company_id, c.locale_id,
           1 + (hashint8extended(c.id, p.seed + 31) & 1048575) % 5 AS n_users
    FROM companies c, params p
),
numbered AS (
    SELECT company_id, locale_id, n_users,
           (sum(n_users) OVER (ORDER BY company_id) - n_users)::bigint AS first_id
    FROM per_company
),
person AS (
    SELECT n.first_id + k AS id, n.company_id, w.first_names, w.last_names, w.domains,
           hashint8extended(n.first_id + k, p.seed + 32) AS h
    FROM numbered n
    CROSS JOIN params p
    CROSS JOIN LATERAL generate_series(1, n.n_users) AS k
    JOIN locales l ON l.id = n.locale_id
    JOIN names w ON w.lang = CASE l.code WHEN 'br' THEN 'pt' WHEN 'us' THEN 'en' ELSE 'es' END
),
named AS (
    SELECT id, company_id, domains, h,
           first_names[1 + (h & 1048575) % cardinality(first_names)] AS first_name,
           last_names[1 + ((h >> 20) & 1048575) % cardinality(last_names)] AS last_name
    FROM person
)
SELECT id, company_id, first_name || ' ' || last_name,
       CASE WHEN ((h >> 40) & 1048575) % 10 = 0 THEN NULL  -- some customers never gave an email
            ELSE translate(lower(first_name || '.' || last_name), 'áéíóúãõâêôçñü', 'aeiouaoaeocnu')
                 || id || '@' || domains[1 + ((h >> 50) & 1023) % cardinality(domains)] END
FROM named
ORDER BY id;
