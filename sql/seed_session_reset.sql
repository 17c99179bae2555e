-- seed_session_reset.sql :none — puts every setting of the session back to its default after a seed (returns nothing).
-- Params: none
-- psql -d "$DATABASE_URL" -f sql/seed_session_reset.sql
RESET ALL;
