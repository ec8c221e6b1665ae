#!/usr/bin/env bash
# Fetches Kafka Streams from the Maven registry into .cache/kafka-streams-<version>/libs, once, and compiles the
# Streams driver (WordCount.java) against it into .cache/kafka-streams-<version>/classes (again only when the
# source changed). Prints the libs directory.
set -euo pipefail

KAFKA_VERSION="${KAFKA_VERSION:-4.4.0}"
# The log4j-core version Kafka 4.4.0 depends on, so the slf4j binding matches it.
LOG4J_VERSION=2.25.5

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../../.." && pwd)"
home="$repo_root/.cache/kafka-streams-$KAFKA_VERSION"
libs=$(bash "$repo_root/scripts/maven-copy.sh" kafka-streams "$home" libs "$here/pom.xml" \
  -Dkafka.version="$KAFKA_VERSION" -Dlog4j.version="$LOG4J_VERSION")

command -v javac >/dev/null 2>&1 || { echo "kafka-streams fetch: javac not found (a JDK 17 is needed)" >&2; exit 1; }
exec 9>"$home/compile.lock"
flock 9
classes="$home/classes"
stamp="$(sha256sum "$here/WordCount.java" | cut -d' ' -f1) $(javac -version 2>&1)"
if [ ! -f "$classes/stamp" ] || [ "$(cat "$classes/stamp")" != "$stamp" ]; then
  rm -rf "$classes"
  mkdir -p "$classes"
  javac -nowarn -d "$classes" -cp "$libs/*" "$here/WordCount.java" >&2
  echo "$stamp" > "$classes/stamp"
fi
echo "$libs"
