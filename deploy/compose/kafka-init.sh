#!/bin/bash
# Creates every topic of SANGSAENG_TOPICS ("<topic> <partitions>" per line) with unlimited
# retention (the log is the audit record), and makes sure an existing one keeps it.
# Idempotent: runs on every `docker compose up`.
set -euo pipefail
. /sangsaeng/kafka-client.sh

while read -r topic partitions; do
  [ -z "${topic}" ] && continue
  /opt/kafka/bin/kafka-topics.sh "${CLIENT[@]}" --create --if-not-exists \
    --topic "${topic}" --partitions "${partitions}" --replication-factor 1 \
    --config retention.ms=-1 --config retention.bytes=-1
  /opt/kafka/bin/kafka-configs.sh "${CLIENT[@]}" --alter --entity-type topics --entity-name "${topic}" \
    --add-config retention.ms=-1,retention.bytes=-1 >/dev/null
  echo "topic ${topic}: ${partitions} partitions, retention unlimited"
done <<< "${SANGSAENG_TOPICS}"
