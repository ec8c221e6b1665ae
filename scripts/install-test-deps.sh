#!/usr/bin/env bash
# Installs what the end-to-end and compat tests need besides npm packages: Debian's kcat and a Python venv with
# confluent-kafka, kafka-python, aiokafka, the Iceberg readers and moto (the S3 test server). Idempotent and quick
# when everything is already there.
set -euo pipefail

# The version the confluent-kafka tests were written and checked against.
CONFLUENT_KAFKA_VERSION=2.16.1

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$repo_root/.cache/venv"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "install-test-deps: need root to run '$*' (not root and no sudo); install it by hand and rerun" >&2
    exit 1
  fi
}

apt_updated=0
apt_install() {
  if [ "$apt_updated" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -q
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"
}

# kcat (Debian's package is kcat; older releases call it kafkacat).
if command -v kcat >/dev/null 2>&1 || command -v kafkacat >/dev/null 2>&1; then
  echo "install-test-deps: kcat present"
else
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-test-deps: kcat missing and no apt-get here; install kcat by hand" >&2
    exit 1
  fi
  apt_install kcat
fi

# Python venv with confluent-kafka, pinned.
if ! command -v python3 >/dev/null 2>&1; then
  apt_install python3 python3-venv
fi
if [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$CONFLUENT_KAFKA_VERSION" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
import confluent_kafka  # the package must also load, not just be listed
sys.exit(0 if version("confluent-kafka") == sys.argv[1] else 1)
EOF
then
  echo "install-test-deps: confluent-kafka $CONFLUENT_KAFKA_VERSION present in $venv"
else
  if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    # Debian splits venv/ensurepip out of python3.
    apt_install python3-venv
  fi
  if [ ! -x "$venv/bin/python" ]; then
    rm -rf "$venv"
    python3 -m venv "$venv"
  fi
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "confluent-kafka==$CONFLUENT_KAFKA_VERSION"
  echo "install-test-deps: installed confluent-kafka $CONFLUENT_KAFKA_VERSION in $venv"
fi

# Independent Iceberg readers for the flusher's tests, pinned together: duckdb-ext-iceberg,
# duckdb-ext-avro and duckdb-ext-httpfs (the HTTP client DuckDB's REST catalog attach needs) ship the
# extension binaries built for exactly this duckdb version (DuckDB loads them from the package with
# autoinstall off, so nothing is downloaded at run time); pyiceberg with pyarrow reads the same tables
# through StaticTable or a REST catalog.
DUCKDB_VERSION=1.4.4
DUCKDB_EXTENSIONS_VERSION=1.4.4.20260205
PYICEBERG_VERSION=0.12.0
if "$venv/bin/python" - "$DUCKDB_VERSION" "$DUCKDB_EXTENSIONS_VERSION" "$PYICEBERG_VERSION" <<'EOF' 2>/dev/null
import sys
from importlib.metadata import version
import duckdb, pyiceberg, pyarrow  # the packages must also load
ok = (version("duckdb") == sys.argv[1] and version("duckdb-ext-iceberg") == sys.argv[2]
      and version("duckdb-ext-avro") == sys.argv[2] and version("duckdb-ext-httpfs") == sys.argv[2]
      and version("pyiceberg") == sys.argv[3])
sys.exit(0 if ok else 1)
EOF
then
  echo "install-test-deps: duckdb $DUCKDB_VERSION (+ iceberg, avro, httpfs extensions) and pyiceberg $PYICEBERG_VERSION present in $venv"
else
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "duckdb==$DUCKDB_VERSION" "duckdb-ext-iceberg==$DUCKDB_EXTENSIONS_VERSION" "duckdb-ext-avro==$DUCKDB_EXTENSIONS_VERSION" \
    "duckdb-ext-httpfs==$DUCKDB_EXTENSIONS_VERSION" \
    "pyiceberg[pyarrow]==$PYICEBERG_VERSION"
  echo "install-test-deps: installed duckdb $DUCKDB_VERSION, its iceberg/avro/httpfs extensions and pyiceberg $PYICEBERG_VERSION in $venv"
fi

# True when every "name==version" given is installed in the venv at that version and the listed
# modules (space-separated, first argument) import: a package must load, not just be listed.
venv_has_pinned() {
  local modules=$1
  shift
  "$venv/bin/python" - "$modules" "$@" <<'EOF' 2>/dev/null
import importlib, sys
from importlib.metadata import version
for module in sys.argv[1].split():
    importlib.import_module(module)
sys.exit(0 if all(version(name) == pinned for name, pinned in (spec.split("==") for spec in sys.argv[2:])) else 1)
EOF
}

# The schema registry extras of confluent-kafka (test/e2e/schema-registry.test.ts drives Zombi's registry with
# SchemaRegistryClient and the Avro, JSON and Protobuf serializers), pinned to what confluent-kafka's
# [avro,json,protobuf,schemaregistry] extras resolved to beside confluent-kafka $CONFLUENT_KAFKA_VERSION.
schema_registry_packages=(
  "confluent-kafka[avro,json,protobuf,schemaregistry]==$CONFLUENT_KAFKA_VERSION"
  "fastavro==1.13.1" "avro==1.12.2" "jsonschema==4.26.0" "protobuf==7.36.2" "googleapis-common-protos==1.76.0"
  "httpx2==2.17.0" "Authlib==1.9.10" "attrs==26.1.0" "cachetools==8.0.3" "certifi==2026.10.19.post1"
)
if venv_has_pinned "confluent_kafka.schema_registry.avro confluent_kafka.schema_registry.json_schema confluent_kafka.schema_registry.protobuf" "${schema_registry_packages[@]:1}"; then
  echo "install-test-deps: confluent-kafka schema registry extras present in $venv"
else
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${schema_registry_packages[@]}"
  echo "install-test-deps: installed confluent-kafka's schema registry extras in $venv"
fi

# The Python families of the compatibility harness (compat-tests/kafka-python, compat-tests/aiokafka),
# pinned, with the codec libraries each imports for snappy, lz4 and zstd (kafka-python: python-snappy,
# lz4, zstandard, and crc32c for speed; aiokafka: cramjam). Without them the clients refuse those codecs.
KAFKA_PYTHON_VERSION=3.0.12
AIOKAFKA_VERSION=0.14.0
compat_python_packages=(
  "kafka-python==$KAFKA_PYTHON_VERSION" "aiokafka==$AIOKAFKA_VERSION"
  "cramjam==2.14.0" "python-snappy==0.7.3" "lz4==4.4.5" "zstandard==0.25.0" "crc32c==2.9.post0"
)
if venv_has_pinned "kafka aiokafka snappy lz4.frame zstandard cramjam crc32c" "${compat_python_packages[@]}"; then
  echo "install-test-deps: kafka-python $KAFKA_PYTHON_VERSION and aiokafka $AIOKAFKA_VERSION (+ codecs) present in $venv"
else
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${compat_python_packages[@]}"
  echo "install-test-deps: installed kafka-python $KAFKA_PYTHON_VERSION, aiokafka $AIOKAFKA_VERSION and their codec libraries in $venv"
fi

# polars, a fourth Iceberg reader (scan_iceberg plans with pyiceberg, reads Parquet with its own engine),
# for test/e2e/iceberg-metadata.test.ts: it opens file: locations as written, like the other three.
POLARS_VERSION=2.1.0
if venv_has_pinned "polars" "polars==$POLARS_VERSION"; then
  echo "install-test-deps: polars $POLARS_VERSION present in $venv"
else
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "polars==$POLARS_VERSION"
  echo "install-test-deps: installed polars $POLARS_VERSION in $venv"
fi

# The HTTP API's property-based test (test/http/schemathesis.test.ts), pinned: openapi-spec-validator checks
# docs/openapi.yaml, schemathesis runs generated requests against a live broker.
http_python_packages=("schemathesis==4.32.5" "openapi-spec-validator==0.9.0")
if venv_has_pinned "schemathesis openapi_spec_validator" "${http_python_packages[@]}"; then
  echo "install-test-deps: schemathesis and openapi-spec-validator present in $venv"
else
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${http_python_packages[@]}"
  echo "install-test-deps: installed ${http_python_packages[*]} in $venv"
fi

# Spark as an independent Iceberg reader (test/e2e/iceberg-spark.test.ts), pinned to the newest 4.1.x: Iceberg's
# Spark runtime exists for 4.1 but not yet for 4.2/4.3. Its Iceberg jars come from Maven at the end of this script.
PYSPARK_VERSION=4.1.4
if venv_has_pinned "pyspark" "pyspark==$PYSPARK_VERSION"; then
  echo "install-test-deps: pyspark $PYSPARK_VERSION present in $venv"
else
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "pyspark==$PYSPARK_VERSION"
  echo "install-test-deps: installed pyspark $PYSPARK_VERSION in $venv"
fi

# moto's S3 server for the S3 object store's tests (test/support/moto.ts starts `moto_server -H 127.0.0.1 -p PORT`),
# pinned: the tests rely on its conditional writes (If-None-Match on PutObject and CompleteMultipartUpload).
MOTO_VERSION=5.2.5
if venv_has_pinned "moto.server flask" "moto==$MOTO_VERSION"; then
  echo "install-test-deps: moto[server] $MOTO_VERSION present in $venv"
else
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION"
  echo "install-test-deps: installed moto[server] $MOTO_VERSION in $venv"
fi

# Apache Kafka (broker and perf tools) for npm run bench:compare and its quick-mode test, from the Maven registry
# into .cache/kafka-<version> (bench/kafka/fetch.sh; a no-op when the stamp matches). Needs a JDK 17+ and Maven.
if ! command -v mvn >/dev/null 2>&1 || ! command -v java >/dev/null 2>&1; then
  apt_install maven openjdk-17-jdk-headless
fi
bash "$repo_root/bench/kafka/fetch.sh" >/dev/null
echo "install-test-deps: Apache Kafka for bench:compare present in $repo_root/.cache"

# Iceberg's Spark runtime and AWS bundle (S3FileIO) for the Spark reader, from the Maven registry into
# .cache/spark-iceberg-<version> (test/support/spark/fetch.sh; a no-op when the stamp matches). Spark gets them as
# local jars and never downloads anything at run time.
bash "$repo_root/test/support/spark/fetch.sh" >/dev/null
echo "install-test-deps: Iceberg jars for Spark present in $repo_root/.cache"

# The Iceberg project's reference REST catalog (RESTCatalogServer from iceberg-open-api's test fixtures, with its
# runtime and iceberg-aws-bundle for S3FileIO) for the REST catalog client's tests, from the Maven registry into
# .cache/iceberg-rest-<version> (test/support/iceberg-rest/fetch.sh; a no-op when the stamp matches).
bash "$repo_root/test/support/iceberg-rest/fetch.sh" >/dev/null
echo "install-test-deps: Iceberg REST catalog server present in $repo_root/.cache"

# Kafka Streams and Kafka Connect (connect-runtime, connect-file) for the framework tests (test/e2e/kafka-streams.test.ts,
# test/e2e/kafka-connect.test.ts), from the Maven registry into .cache/kafka-frameworks-<version>, with the Streams
# driver compiled against them (test/support/frameworks/fetch.sh; a no-op when the stamps match).
bash "$repo_root/test/support/frameworks/fetch.sh" >/dev/null
echo "install-test-deps: Kafka Streams and Kafka Connect present in $repo_root/.cache"

# The Go client of bench:compare's scale rows (bench/scale, franz-go pinned by its go.mod/go.sum), built once so the
# quick-mode test does not spend a cold build inside its time; the bench also builds it when missing or stale.
if command -v go >/dev/null 2>&1; then
  bash "$repo_root/bench/scale/setup.sh" >/dev/null
  echo "install-test-deps: bench/scale client built"
else
  echo "install-test-deps: go not found; bench:compare's scale rows need Go 1.26+ to build bench/scale" >&2
fi
