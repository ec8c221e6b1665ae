#!/usr/bin/env bash
# Fetches the Iceberg project's reference REST catalog server (RESTCatalogServer from iceberg-open-api's
# test-fixtures) and its runtime into .cache/iceberg-rest-<version>/libs, once. Prints the libs directory
# (java -cp '<libs>/*').
set -euo pipefail

ICEBERG_VERSION="${ICEBERG_VERSION:-1.10.0}"
# The versions Iceberg 1.10.0 builds against (gradle/libs.versions.toml), so the server sees what it was tested with.
JETTY_VERSION=11.0.26
SQLITE_VERSION=3.50.3.0
HADOOP_VERSION=3.4.1
SLF4J_VERSION=2.0.17

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../../.." && pwd)"
exec bash "$repo_root/scripts/maven-copy.sh" iceberg-rest "$repo_root/.cache/iceberg-rest-$ICEBERG_VERSION" libs "$here/pom.xml" \
  -Diceberg.version="$ICEBERG_VERSION" -Djetty.version="$JETTY_VERSION" -Dsqlite.version="$SQLITE_VERSION" \
  -Dhadoop.version="$HADOOP_VERSION" -Dslf4j.version="$SLF4J_VERSION"
