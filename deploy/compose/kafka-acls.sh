#!/bin/bash
# The secure profile's principals. SANGSAENG_KAFKA_PRINCIPALS has one line per principal:
#   <user> <password> write=<topic,...> read=<topic,...> group=<group,...> group-prefix=<prefix,...>
# (empty lists as `write=`). Each user gets a SCRAM-SHA-512 credential (reset to the given
# password: this is also how credentials are rotated) and exactly these ACLs; ACLs it had
# before and no longer should are removed. Nothing else is allowed: the broker runs with
# allow.everyone.if.no.acl.found=false.
set -euo pipefail
. /sangsaeng/kafka-client.sh
ACLS=/opt/kafka/bin/kafka-acls.sh

split() { tr ',' '\n' <<< "${1#*=}" | sed '/^$/d'; }

while read -r user password write read group prefix; do
  [ -z "${user}" ] && continue
  /opt/kafka/bin/kafka-configs.sh "${CLIENT[@]}" --alter --entity-type users --entity-name "${user}" \
    --add-config "SCRAM-SHA-512=[password=${password}]" >/dev/null
  "${ACLS}" "${CLIENT[@]}" --remove --force --principal "User:${user}" --topic '*' --resource-pattern-type match >/dev/null 2>&1 || true
  "${ACLS}" "${CLIENT[@]}" --remove --force --principal "User:${user}" --group '*' --resource-pattern-type match >/dev/null 2>&1 || true
  for topic in $(split "${write}"); do
    "${ACLS}" "${CLIENT[@]}" --add --allow-principal "User:${user}" --operation Write --operation Describe --topic "${topic}" >/dev/null
  done
  for topic in $(split "${read}"); do
    "${ACLS}" "${CLIENT[@]}" --add --allow-principal "User:${user}" --operation Read --operation Describe --topic "${topic}" >/dev/null
  done
  for g in $(split "${group}"); do
    "${ACLS}" "${CLIENT[@]}" --add --allow-principal "User:${user}" --operation Read --group "${g}" >/dev/null
  done
  for p in $(split "${prefix}"); do
    "${ACLS}" "${CLIENT[@]}" --add --allow-principal "User:${user}" --operation Read --group "${p}" --resource-pattern-type prefixed >/dev/null
  done
  echo "principal ${user}: ${write} ${read} ${group} ${prefix}"
done <<< "${SANGSAENG_KAFKA_PRINCIPALS}"
