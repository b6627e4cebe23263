-- NxForge on PostgreSQL: one login role that owns one database, nothing more.
-- Run as a superuser through deploy/postgres/setup.sh (it passes the password on stdin, never on
-- the command line). By hand: psql -v role=nxforge -v dbname=nxforge, then \set password '...'
-- and \i setup.sql. Idempotent: running it again resets the password and the grants.
-- The role is not a superuser: the app and the collector cannot touch other databases, and
-- module migrations create tables as this role (so it owns them, and pg_dump/pg_restore keep it simple).
\set ON_ERROR_STOP on

SELECT format('CREATE ROLE %I LOGIN', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD %L', :'role', :'password') \gexec

SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'dbname', :'role', 'UTF8')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'dbname') \gexec
SELECT format('ALTER DATABASE %I OWNER TO %I', :'dbname', :'role') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'dbname') \gexec
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'dbname', :'role') \gexec

\connect :"dbname"
-- PostgreSQL 14 and older give public to postgres and let everyone create in it; 15+ already do this.
SELECT format('ALTER SCHEMA public OWNER TO %I', :'role') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
