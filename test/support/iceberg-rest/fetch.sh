#!/usr/bin/env bash
# Fetches the Iceberg project's reference REST catalog server (RESTCatalogServer from iceberg-open-api's
# test-fixtures) and its runtime from the Maven registry into .cache/iceberg-rest-<version>/libs, once: a stamp of
# the versions and this pom makes a cached run cost nothing. Prints the libs directory (java -cp '<libs>/*').
set -euo pipefail

ICEBERG_VERSION="${ICEBERG_VERSION:-1.10.0}"
# The versions Iceberg 1.10.0 builds against (gradle/libs.versions.toml), so the server sees what it was tested with.
JETTY_VERSION=11.0.26
SQLITE_VERSION=3.50.3.0
HADOOP_VERSION=3.4.1
SLF4J_VERSION=2.0.17

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../../.." && pwd)"
home="$repo_root/.cache/iceberg-rest-$ICEBERG_VERSION"
libs="$home/libs"
mkdir -p "$home"

command -v mvn >/dev/null 2>&1 || { echo "iceberg-rest fetch: mvn not found (Maven 3.8+ and a JDK 17 are needed)" >&2; exit 1; }

# Test files and the installer may fetch at once; one Maven repository must not be written twice at once.
exec 9>"$home/fetch.lock"
flock 9

stamp="$ICEBERG_VERSION $JETTY_VERSION $SQLITE_VERSION $HADOOP_VERSION $SLF4J_VERSION $(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
if [ -f "$home/stamp" ] && [ "$(cat "$home/stamp")" = "$stamp" ] && [ -d "$libs" ]; then
  echo "$libs"
  exit 0
fi
rm -rf "$libs"
started=$(date +%s)
mvn -B -q -Dstyle.color=never -f "$here/pom.xml" \
  -Dmaven.repo.local="$home/m2" \
  -Diceberg.version="$ICEBERG_VERSION" -Djetty.version="$JETTY_VERSION" -Dsqlite.version="$SQLITE_VERSION" \
  -Dhadoop.version="$HADOOP_VERSION" -Dslf4j.version="$SLF4J_VERSION" \
  -DoutputDirectory="$libs" -DincludeScope=runtime \
  dependency:copy-dependencies 2>&1 | sed 's/\x1b\[[0-9;]*m//g' >&2 # Debian's mvn colours even in batch mode
echo "$stamp" > "$home/stamp"
echo "iceberg-rest fetch: Iceberg REST catalog server $ICEBERG_VERSION in $libs ($(( $(date +%s) - started )) s)" >&2
echo "$libs"
