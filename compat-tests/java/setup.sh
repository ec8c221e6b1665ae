#!/usr/bin/env bash
# Builds the Java driver against one kafka-clients line (3 or 4, default both) into .deps/build-<line>.
# Maven downloads into .deps/m2 (gitignored); a stamp of the sources and version skips Maven entirely
# when nothing changed, so a cached run costs nothing. Prints the build directory of each line.
set -euo pipefail

# Latest of each line on Maven Central when this family was written; bump here (and in FINDINGS.md).
KAFKA_CLIENTS_3=3.9.2
KAFKA_CLIENTS_4=4.4.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
deps="$here/.deps"
mkdir -p "$deps"

command -v mvn >/dev/null 2>&1 || { echo "java setup: mvn not found (Maven 3.8+ and a JDK 17 are needed)" >&2; exit 1; }
command -v java >/dev/null 2>&1 || { echo "java setup: java not found (JDK 17 needed)" >&2; exit 1; }

lines=("$@")
[ ${#lines[@]} -eq 0 ] && lines=(3 4)

# The two families' setups may run at once; one Maven local repository must not be written twice at once.
exec 9>"$deps/setup.lock"
flock 9

sources_hash() {
  (cd "$here" && find pom.xml src -type f -print0 | sort -z | xargs -0 sha256sum) | sha256sum | cut -d' ' -f1
}

for line in "${lines[@]}"; do
  case "$line" in
    3) version="$KAFKA_CLIENTS_3" ;;
    4) version="$KAFKA_CLIENTS_4" ;;
    *) echo "java setup: unknown kafka-clients line '$line' (3 or 4)" >&2; exit 2 ;;
  esac
  build="$deps/build-$line"
  stamp="$version $(sources_hash) $(java -version 2>&1 | head -1)"
  if [ -f "$build/stamp" ] && [ "$(cat "$build/stamp")" = "$stamp" ] && [ -f "$build/classpath.txt" ]; then
    echo "java setup: kafka-clients $version already built in $build"
    continue
  fi
  rm -rf "$build"
  started=$(date +%s)
  mvn -B -q -Dstyle.color=never -f "$here/pom.xml" \
    -Dmaven.repo.local="$deps/m2" \
    -Dkafka.version="$version" \
    -Dzombi.build.dir="$build" \
    -Dmdep.outputFile="$build/classpath.txt" \
    compile dependency:build-classpath 2>&1 | sed 's/\x1b\[[0-9;]*m//g' # Debian's mvn colours even in batch mode
  echo "$version" > "$build/version"
  echo "$stamp" > "$build/stamp"
  echo "java setup: built against kafka-clients $version in $(( $(date +%s) - started )) s"
done
