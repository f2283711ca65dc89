#!/bin/bash
# Formats the broker's KRaft storage once (the broker's own start finds it formatted) and
# seeds the SCRAM credential of the `admin` super user, so that the secure profile has an
# administrator before any ACL exists. --ignore-formatted: a no-op on later runs.
set -euo pipefail
cat > /tmp/format.properties <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:9093
controller.listener.names=CONTROLLER
listeners=INTERNAL://:9092,CONTROLLER://127.0.0.1:9093
listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=INTERNAL
log.dirs=/var/lib/kafka/data
PROPS
/opt/kafka/bin/kafka-storage.sh format --ignore-formatted --cluster-id "${CLUSTER_ID}" \
  --config /tmp/format.properties \
  --add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_ADMIN_PASSWORD}]"
