#!/usr/bin/env bash
# Fetches Apache Kafka (broker + perf tools) from the Maven registry into .cache/kafka-<version>/libs, once.
# Prints the libs directory.
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
# The log4j-core version kafka_2.13 4.4.0 depends on, so the slf4j binding matches it.
LOG4J_VERSION=2.25.5

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
exec bash "$repo_root/scripts/maven-copy.sh" kafka "$repo_root/.cache/kafka-$KAFKA_VERSION" libs "$here/pom.xml" \
  -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$LOG4J_VERSION"
