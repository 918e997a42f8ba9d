-- A read-only PostgreSQL role for the hospital's analysts.
--
-- Run as the database owner (or a superuser), once per database:
--   psql -d wardboard -v analyst_password="'choose-a-password'" -f docs/analyst_readonly_role.sql
-- Analysts then connect as wardboard_analyst; they can read every table, including tables
-- that later migrations add, and can change nothing.

-- A group role that holds the grants, and a login role in it (add more logins the same way).
CREATE ROLE wardboard_readonly NOLOGIN;
CREATE ROLE wardboard_analyst LOGIN PASSWORD :analyst_password IN ROLE wardboard_readonly;

-- Sessions of this role are read-only by default and cannot run away with the server.
ALTER ROLE wardboard_analyst SET default_transaction_read_only = on;
ALTER ROLE wardboard_analyst SET statement_timeout = '5min';
ALTER ROLE wardboard_analyst CONNECTION LIMIT 5;

DO $$ BEGIN
    EXECUTE format('GRANT CONNECT ON DATABASE %I TO wardboard_readonly', current_database());
END $$;
GRANT USAGE ON SCHEMA public TO wardboard_readonly;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO wardboard_readonly;
GRANT SELECT ON ALL SEQUENCES IN SCHEMA public TO wardboard_readonly;

-- Tables created later by the role that runs migrations (run this AS that role, or name it
-- with FOR ROLE) are readable too.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO wardboard_readonly;

-- No writing, ever: belt and braces on top of the read-only default above.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER
    ON ALL TABLES IN SCHEMA public FROM wardboard_readonly;
REVOKE CREATE ON SCHEMA public FROM wardboard_readonly;
