-- The two roles Atrium needs on an external PostgreSQL, run once by a superuser (or a role with
-- CREATEROLE and CREATEDB):
--   psql -v owner_password=... -v server_password=... -f deploy/db-roles.sql
-- Then start atriumd with
--   --database-url       postgres://atrium:<server_password>@host:5432/atrium?sslmode=require
--   --owner-database-url postgres://atrium_owner:<owner_password>@host:5432/atrium?sslmode=require
-- The owner runs the migrations and grants the server's role only what it needs
-- (Sources/AtriumStore/Migrations/RuntimePrivileges.swift): the server cannot alter tables, turn
-- row-level security off or rewrite the ledger's history. Neither role may be a superuser or
-- have BYPASSRLS, or row-level security would not bind it. Replicas that only serve may be
-- started without --owner-database-url once the schema is current.
CREATE ROLE atrium_owner LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE PASSWORD :'owner_password';
CREATE ROLE atrium LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE PASSWORD :'server_password';
CREATE DATABASE atrium OWNER atrium_owner;
