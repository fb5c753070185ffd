#!/bin/bash
# First-start initialisation of the compose PostgreSQL (run by the postgres
# image's entrypoint from /docker-entrypoint-initdb.d, as the superuser, only
# when the data directory is empty).
#
# Creates the two Portcullis roles and their database:
#   portcullis_owner  owns database "portcullis" and runs the migrations
#   portcullis_app    what the services log in as; owns nothing, so the
#                     row-level security policies of the migrations apply
# Neither is a superuser nor may bypass RLS. Table privileges for
# portcullis_app are granted by the migrations themselves.
#
# The passwords are read with psql's \getenv, so they never appear on a
# command line.
set -euo pipefail

: "${PORTCULLIS_OWNER_PASSWORD:?PORTCULLIS_OWNER_PASSWORD is not set}"
: "${PORTCULLIS_APP_PASSWORD:?PORTCULLIS_APP_PASSWORD is not set}"

psql --no-psqlrc -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
\getenv owner_password PORTCULLIS_OWNER_PASSWORD
\getenv app_password PORTCULLIS_APP_PASSWORD

CREATE ROLE portcullis_owner LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'owner_password';
CREATE ROLE portcullis_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS
  PASSWORD :'app_password';

CREATE DATABASE portcullis OWNER portcullis_owner;
REVOKE ALL ON DATABASE portcullis FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE portcullis TO portcullis_app;
SQL
