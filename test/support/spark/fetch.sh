#!/usr/bin/env bash
# Fetches Iceberg's Spark runtime and AWS bundle from the Maven registry into .cache/spark-iceberg-<version>/jars, once:
# a stamp of the version and this pom makes a cached run cost nothing. Prints the jars directory, which the Spark
# reader passes to spark.jars (Spark never resolves packages itself at run time: no network then).
set -euo pipefail

ICEBERG_VERSION="${ICEBERG_VERSION:-1.12.0}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../../.." && pwd)"
home="$repo_root/.cache/spark-iceberg-$ICEBERG_VERSION"
jars="$home/jars"
mkdir -p "$home"

command -v mvn >/dev/null 2>&1 || { echo "spark-iceberg fetch: mvn not found (Maven 3.8+ and a JDK 17 are needed)" >&2; exit 1; }

# The installer and a test run may fetch at once; one Maven repository must not be written twice at once.
exec 9>"$home/fetch.lock"
flock 9

stamp="$ICEBERG_VERSION $(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
if [ -f "$home/stamp" ] && [ "$(cat "$home/stamp")" = "$stamp" ] && [ -d "$jars" ]; then
  echo "$jars"
  exit 0
fi
rm -rf "$jars"
started=$(date +%s)
# excludeTransitive: both artifacts are self-contained shaded jars; their poms' runtime dependencies (if any) would
# only duplicate classes Spark already ships.
mvn -B -q -Dstyle.color=never -f "$here/pom.xml" \
  -Dmaven.repo.local="$home/m2" \
  -Diceberg.version="$ICEBERG_VERSION" \
  -DoutputDirectory="$jars" -DincludeScope=runtime -DexcludeTransitive=true \
  dependency:copy-dependencies 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2 # Debian's mvn colours even in batch mode
echo "$stamp" > "$home/stamp"
echo "spark-iceberg fetch: Iceberg $ICEBERG_VERSION Spark runtime and AWS bundle in $jars ($(( $(date +%s) - started )) s)" >&2
echo "$jars"
