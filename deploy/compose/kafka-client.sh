#!/bin/bash
# Sourced by the init scripts: CLIENT=(--bootstrap-server ... [--command-config ...]) for the
# broker's admin, over PLAINTEXT by default or SASL/SCRAM-SHA-512 as `admin` in the secure profile.
set -euo pipefail
BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
PROTOCOL="${KAFKA_SECURITY_PROTOCOL:-PLAINTEXT}"
CLIENT=(--bootstrap-server "${BOOTSTRAP}")
if [ "${PROTOCOL}" != "PLAINTEXT" ]; then
  umask 077
  cat > /tmp/admin.properties <<PROPS
security.protocol=${PROTOCOL}
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
PROPS
  CLIENT+=(--command-config /tmp/admin.properties)
fi
