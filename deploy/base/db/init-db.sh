#!/bin/bash
# One database, and per service one LOGIN role `sangsaeng_<service>` that owns its schema
# `<service>` and the replay's scratch schema `<service>_replay`, and can touch nothing else
# (the same as libs/devstack's provision.py does for `make run`). Idempotent: a second run
# resets the passwords (this is how they are rotated) and changes nothing else.
#
# Reads: PGHOST/PGPORT/PGUSER/PGPASSWORD (an administrator), SANGSAENG_DATABASE,
# SANGSAENG_SERVICES ("intake visits ..."), and SANGSAENG_DB_PASSWORD_<SERVICE> for each;
# SANGSAENG_ROLE_PREFIX (default sangsaeng_) keeps two stacks apart on one server.
# Used by docker-compose.yml (db-init) and by deploy/base (the sangsaeng-db-init Job).
set -euo pipefail
DATABASE="${SANGSAENG_DATABASE:-sangsaeng}"
PREFIX="${SANGSAENG_ROLE_PREFIX:-sangsaeng_}"
PSQL=(psql -v ON_ERROR_STOP=1 --no-psqlrc -q)

"${PSQL[@]}" -d postgres -v db="${DATABASE}" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL

for service in ${SANGSAENG_SERVICES}; do
  var="SANGSAENG_DB_PASSWORD_$(tr '[:lower:]-' '[:upper:]_' <<< "${service}")"
  password="${!var:?${var} is not set}"
  "${PSQL[@]}" -d "${DATABASE}" -v db="${DATABASE}" -v role="${PREFIX}${service}" -v schema="${service}" -v password="${password}" <<'SQL'
SELECT format('CREATE ROLE %I', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
              :'role', :'password') \gexec
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'db', :'role') \gexec
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', :'schema', :'role') \gexec
SELECT format('ALTER SCHEMA %I OWNER TO %I', :'schema', :'role') \gexec
-- The scratch schema a replay rebuilds the read models in (sangsaeng_common.replay).
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', :'schema' || '_replay', :'role') \gexec
SELECT format('ALTER SCHEMA %I OWNER TO %I', :'schema' || '_replay', :'role') \gexec
SELECT format('ALTER ROLE %I IN DATABASE %I SET search_path = %I', :'role', :'db', :'schema') \gexec
SQL
  echo "role ${PREFIX}${service}: owns schemas ${service} and ${service}_replay in ${DATABASE}"
done
