#!/usr/bin/env bash
# Fetches Iceberg's Spark runtime and AWS bundle into .cache/spark-iceberg-<version>/jars, once. Prints the jars
# directory, which the Spark reader passes to spark.jars (Spark never resolves packages itself at run time: no
# network then).
set -euo pipefail

ICEBERG_VERSION="${ICEBERG_VERSION:-1.12.0}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../../.." && pwd)"
# excludeTransitive: both artifacts are self-contained shaded jars; their poms' runtime dependencies (if any) would
# only duplicate classes Spark already ships.
exec bash "$repo_root/scripts/maven-copy.sh" spark-iceberg "$repo_root/.cache/spark-iceberg-$ICEBERG_VERSION" jars "$here/pom.xml" \
  -Diceberg.version="$ICEBERG_VERSION" -DexcludeTransitive=true
