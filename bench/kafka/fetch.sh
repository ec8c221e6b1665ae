#!/usr/bin/env bash
# Fetches Apache Kafka (broker + perf tools) from the Maven registry into .cache/kafka-<version>/libs, once:
# a stamp of the version and this pom makes a cached run cost nothing. Prints the libs directory.
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
# The log4j-core version kafka_2.13 4.4.0 depends on, so the slf4j binding matches it.
LOG4J_VERSION=2.25.5

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
home="$repo_root/.cache/kafka-$KAFKA_VERSION"
libs="$home/libs"
mkdir -p "$home"

command -v mvn >/dev/null 2>&1 || { echo "kafka fetch: mvn not found (Maven 3.8+ and a JDK 17 are needed)" >&2; exit 1; }

# Two benches or a bench and the installer may fetch at once; one Maven repository must not be written twice at once.
exec 9>"$home/fetch.lock"
flock 9

stamp="$KAFKA_VERSION $LOG4J_VERSION $(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
if [ -f "$home/stamp" ] && [ "$(cat "$home/stamp")" = "$stamp" ] && [ -d "$libs" ]; then
  echo "$libs"
  exit 0
fi
rm -rf "$libs"
started=$(date +%s)
mvn -B -q -Dstyle.color=never -f "$here/pom.xml" \
  -Dmaven.repo.local="$home/m2" \
  -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$LOG4J_VERSION" \
  -DoutputDirectory="$libs" -DincludeScope=runtime \
  dependency:copy-dependencies 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2 # Debian's mvn colours even in batch mode
echo "$stamp" > "$home/stamp"
echo "kafka fetch: Apache Kafka $KAFKA_VERSION in $libs ($(( $(date +%s) - started )) s)" >&2
echo "$libs"
