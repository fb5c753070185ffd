#!/bin/bash
# First-start initialisation of the compose PostgreSQL (run by the postgres
# image's entrypoint from /docker-entrypoint-initdb.d, as the superuser, only
# when the data directory is empty).
#
# Creates the three Portcullis roles and their database:
#   portcullis_owner    owns database "portcullis" and runs the migrations
#   portcullis_app      what the services log in as; owns nothing, so the
#                       row-level security policies of the migrations apply
#   portcullis_indexer  what the indexer writes events as: BYPASSRLS (COPY
#                       FROM refuses a table under row-level security), and
#                       granted INSERT on events only (migration 0004): it
#                       can read no table
# None is a superuser; only portcullis_indexer bypasses RLS. Table privileges
# are granted by the migrations themselves.
#
# The passwords are read with psql's \getenv, so they never appear on a
# command line.
set -euo pipefail

: "${PORTCULLIS_OWNER_PASSWORD:?PORTCULLIS_OWNER_PASSWORD is not set}"
: "${PORTCULLIS_APP_PASSWORD:?PORTCULLIS_APP_PASSWORD is not set}"
: "${PORTCULLIS_INDEXER_PASSWORD:?PORTCULLIS_INDEXER_PASSWORD is not set}"

psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
\getenv owner_password PORTCULLIS_OWNER_PASSWORD
\getenv app_password PORTCULLIS_APP_PASSWORD
\getenv indexer_password PORTCULLIS_INDEXER_PASSWORD

CREATE ROLE portcullis_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'owner_password';
CREATE ROLE portcullis_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'app_password';
CREATE ROLE portcullis_indexer LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION BYPASSRLS
  PASSWORD :'indexer_password';

CREATE DATABASE portcullis OWNER portcullis_owner;
REVOKE ALL ON DATABASE portcullis FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE portcullis TO portcullis_app, portcullis_indexer;
SQL
