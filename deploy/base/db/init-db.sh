#!/bin/bash
# One database, and per service one LOGIN role `sangsaeng_<service>` that owns its schema
# `<service>` and the replay's scratch schema `<service>_replay`, and can touch nothing else
# (the same as libs/devstack's provision.py does for `make run`). Idempotent: a second run
# resets the passwords (this is how they are rotated) and changes nothing else.
#
# A service named in SANGSAENG_SEPARATE_OWNER (default: audit) gets a second LOGIN role
# `sangsaeng_<service>_owner` that owns `<service>` and runs the migrations
# (MIGRATION_DATABASE_URL); `sangsaeng_<service>` then keeps USAGE on that schema and only
# what the migrations grant it (audit: INSERT and SELECT on its ledger), and its scratch.
#
# Reads: PGHOST/PGPORT/PGUSER/PGPASSWORD (an administrator), SANGSAENG_DATABASE,
# SANGSAENG_SERVICES ("intake visits ..."), SANGSAENG_DB_PASSWORD_<SERVICE> for each and
# SANGSAENG_DB_PASSWORD_<SERVICE>_OWNER for each separately owned one;
# SANGSAENG_ROLE_PREFIX (default sangsaeng_) keeps two stacks apart on one server.
# Used by docker-compose.yml (db-init) and by deploy/base (the sangsaeng-db-init Job).
set -euo pipefail
DATABASE="${SANGSAENG_DATABASE:-sangsaeng}"
PREFIX="${SANGSAENG_ROLE_PREFIX:-sangsaeng_}"
SEPARATE_OWNER="${SANGSAENG_SEPARATE_OWNER-audit}"
PSQL=(psql -v ON_ERROR_STOP=1 --no-psqlrc -q)

"${PSQL[@]}" -d postgres -v db="${DATABASE}" <<'SQL'
SELECT format('CREATE DATABASE %I', :'db')
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db') \gexec
SQL

login_role() {  # role password
  "${PSQL[@]}" -d "${DATABASE}" -v role="$1" -v password="$2" <<'SQL'
SELECT format('CREATE ROLE %I', :'role')
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('ALTER ROLE %I WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS PASSWORD %L',
              :'role', :'password') \gexec
SQL
}

for service in ${SANGSAENG_SERVICES}; do
  var="SANGSAENG_DB_PASSWORD_$(tr '[:lower:]-' '[:upper:]_' <<< "${service}")"
  role="${PREFIX}${service}"
  login_role "${role}" "${!var:?${var} is not set}"
  owner="${role}"
  if [[ " ${SEPARATE_OWNER} " == *" ${service} "* ]]; then
    owner="${role}_owner"
    login_role "${owner}" "$(v="${var}_OWNER"; echo "${!v:?${v} is not set}")"
  fi
  "${PSQL[@]}" -d "${DATABASE}" -v db="${DATABASE}" -v role="${role}" -v owner="${owner}" -v schema="${service}" <<'SQL'
SELECT format('REVOKE ALL ON DATABASE %I FROM PUBLIC', :'db') \gexec
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SELECT format('GRANT CONNECT, TEMPORARY ON DATABASE %I TO %I', :'db', r) FROM unnest(ARRAY[:'role', :'owner']) r \gexec
SELECT format('ALTER ROLE %I IN DATABASE %I SET search_path = %I', r, :'db', :'schema') FROM unnest(ARRAY[:'role', :'owner']) r \gexec
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', :'schema', :'owner') \gexec
SELECT format('ALTER SCHEMA %I OWNER TO %I', :'schema', :'owner') \gexec
-- A separate owner takes over what the service's role created there before, and the
-- service's role keeps only USAGE (its migrations grant it the rest).
SELECT format('ALTER TABLE %s OWNER TO %I', c.oid::regclass, :'owner') FROM pg_class c
 WHERE :'owner' <> :'role' AND c.relnamespace = :'schema'::regnamespace AND c.relowner = :'role'::regrole
   AND c.relkind IN ('r', 'p', 'v', 'm', 'f') \gexec
SELECT format('ALTER ROUTINE %s OWNER TO %I', p.oid::regprocedure, :'owner') FROM pg_proc p
 WHERE :'owner' <> :'role' AND p.pronamespace = :'schema'::regnamespace AND p.proowner = :'role'::regrole \gexec
SELECT format('GRANT USAGE ON SCHEMA %I TO %I', :'schema', :'role') WHERE :'owner' <> :'role' \gexec
-- The scratch schema a replay rebuilds the read models in (sangsaeng_common.replay).
SELECT format('CREATE SCHEMA IF NOT EXISTS %I AUTHORIZATION %I', :'schema' || '_replay', :'role') \gexec
SELECT format('ALTER SCHEMA %I OWNER TO %I', :'schema' || '_replay', :'role') \gexec
SQL
  echo "role ${role}: uses schema ${service} (owner ${owner}), owns ${service}_replay in ${DATABASE}"
done
