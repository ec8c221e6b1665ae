#!/usr/bin/env bash
# Fetches Kafka Connect (connect-runtime and connect-file) from the Maven registry into .cache/kafka-connect-<version>/libs,
# once. Prints the libs directory.
set -euo pipefail

# 4.3.1, not 4.4.0: connect-file 4.4.0 (and 4.3.2) are not published on Maven Central, and connect-file 4.3.1 cannot
# load in a 4.4.0 worker (it calls org.apache.kafka.common.utils.AppInfoParser, which kafka-clients 4.4.0 moved to
# ...utils.internals: NoClassDefFoundError at POST /connectors). So the worker and its file connectors are the newest
# release that has both.
CONNECT_VERSION="${CONNECT_VERSION:-4.3.1}"
# The log4j-core version Kafka 4.x depends on, so the slf4j binding matches it.
LOG4J_VERSION=2.25.5

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../../.." && pwd)"
exec bash "$repo_root/scripts/maven-copy.sh" kafka-connect "$repo_root/.cache/kafka-connect-$CONNECT_VERSION" libs "$here/connect/pom.xml" \
  -Dkafka.version="$CONNECT_VERSION" -Dlog4j.version="$LOG4J_VERSION"
