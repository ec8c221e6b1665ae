#!/usr/bin/env bash
# Copies a pom's dependencies from the Maven registry into <home>/<dir>, once: a stamp of the pom and the
# arguments makes a cached run cost nothing. Prints that directory. Used by the fetch scripts of the Java
# parts the tests and benches run (Apache Kafka, Iceberg's REST catalog server, Iceberg's Spark jars).
#   maven-copy.sh <label> <home> <dir> <pom> [-Dname=value ...]
set -euo pipefail

label=$1 home=$2 dir=$3 pom=$4
shift 4
out="$home/$dir"
mkdir -p "$home"

command -v mvn >/dev/null 2>&1 || { echo "$label fetch: mvn not found (Maven 3.8+ and a JDK 17 are needed)" >&2; exit 1; }

# Benches, test files and the installer may fetch at once; one Maven repository must not be written twice at once.
exec 9>"$home/fetch.lock"
flock 9

stamp="$* $(sha256sum "$pom" | cut -d' ' -f1)"
if [ -f "$home/stamp" ] && [ "$(cat "$home/stamp")" = "$stamp" ] && [ -d "$out" ]; then
  echo "$out"
  exit 0
fi
rm -rf "$out"
started=$(date +%s)
mvn -B -q -Dstyle.color=never -f "$pom" -Dmaven.repo.local="$home/m2" -DoutputDirectory="$out" -DincludeScope=runtime "$@" \
  dependency:copy-dependencies 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2 # Debian's mvn colours even in batch mode
echo "$stamp" > "$home/stamp"
echo "$label fetch: $out ($(( $(date +%s) - started )) s)" >&2
echo "$out"
