"""A long-lived Spark session reading Zombi's Iceberg tables for the end-to-end tests: one JVM per
test file, driven by JSON lines, because starting Spark costs tens of seconds and a test file asks
many questions.

  spark_reader.py --jars DIR

Prints {"ready": true, ...} once the session is up, then reads one JSON request per stdin line and
answers exactly one JSON line on stdout, in order:

  {"op": "catalog", "name": "z", "type": "hadoop", "warehouse": "file:///..."}
  {"op": "catalog", "name": "r", "type": "rest", "uri": "http://...", "warehouse": "...",
   "s3": {"endpoint": "http://...", "region": "...", "access_key_id": "...",
          "secret_access_key": "...", "path_style": true}}
      -> {"ok": true}. Catalogs are registered at run time (Spark reads spark.sql.catalog.<name>
      the first time the name is used); a name cannot be registered twice.
  {"op": "sql", "query": "...", "scan_metrics": false}
      -> {"columns": [...], "rows": [{column: value}, ...]}; with scan_metrics also
      "scans": [{metric: value}] per Iceberg scan of the executed plan (resultDataFiles,
      skippedDataFiles, ...), to check which files the filter pruned.
  {"op": "tables", "catalog": "z", "namespace": "zombi"} -> {"tables": ["t1", ...]}

Values in rows: binary as base64, timestamps (with or without time zone) as integer microseconds
since the epoch, dates as "YYYY-MM-DD", decimals as strings, integers beyond 2^53 as strings (so
JavaScript's JSON.parse keeps them exact), structs as objects, arrays as lists, maps as objects.
Every answer carries "elapsed_ms". A failed request answers {"error": "..."} and the session
stays up; end of input stops Spark and exits 0. Nothing is downloaded: the Iceberg jars come
from DIR (test/support/spark/fetch.sh), never from spark.jars.packages.
"""
import argparse
import base64
import datetime
import decimal
import glob
import json
import os
import sys
import tempfile
import time

MAX_SAFE_INTEGER = 2**53 - 1
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)


def protocol_stdout():
    """Keeps fd 1 for answers only: the JVM inherits this process's stdout, and anything it or
    PySpark prints there would corrupt the protocol, so fd 1 becomes a copy of stderr."""
    answers = os.fdopen(os.dup(1), "w", buffering=1, encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return answers


def to_json_value(value):
    if value is None or isinstance(value, (bool, str, float)):
        return value
    if isinstance(value, int):
        return str(value) if abs(value) > MAX_SAFE_INTEGER else value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, datetime.datetime):
        # PySpark hands TimestampType out as naive local time (this process runs with TZ=UTC) and
        # TimestampNTZType as naive wall-clock time: both read as UTC give the stored microseconds.
        aware = value if value.tzinfo is not None else value.replace(tzinfo=datetime.timezone.utc)
        delta = aware - EPOCH
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if hasattr(value, "asDict"):  # a Row (struct)
        return {name: to_json_value(item) for name, item in value.asDict(recursive=False).items()}
    if isinstance(value, dict):
        return {str(to_json_value(k)): to_json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json_value(item) for item in value]
    return str(value)


def batch_scans(node):
    """The executed plan's BatchScanExec nodes (Iceberg's scans), also inside adaptive-execution
    stages, which hide their plans from the plain tree of children."""
    name = node.getClass().getSimpleName()
    if name == "BatchScanExec":
        yield node
        return
    if name == "AdaptiveSparkPlanExec":
        yield from batch_scans(node.executedPlan())
        return
    if name.endswith("QueryStageExec"):
        yield from batch_scans(node.plan())
        return
    children = node.children().iterator()
    while children.hasNext():
        yield from batch_scans(children.next())


def metrics(scan):
    """A scan's SQL metrics, e.g. Iceberg's resultDataFiles and skippedDataFiles: what pruning kept."""
    out = {}
    entries = scan.metrics().iterator()
    while entries.hasNext():
        entry = entries.next()
        out[entry._1()] = entry._2().value()
    return out


def quote(identifier):
    return "`" + identifier.replace("`", "``") + "`"


class Reader:
    def __init__(self, spark):
        self.spark = spark
        self.catalogs = set()

    def catalog(self, request):
        name = request["name"]
        if name in self.catalogs:
            raise ValueError(f"catalog {name} is already registered")
        kind = request["type"]
        prefix = f"spark.sql.catalog.{name}"
        settings = {prefix: "org.apache.iceberg.spark.SparkCatalog", f"{prefix}.type": kind}
        if kind == "hadoop":
            # HadoopCatalog lists and reads metadata through Hadoop's FileSystem, which here knows
            # file:// only (no hadoop-aws): tables on S3 go through a REST catalog.
            settings[f"{prefix}.warehouse"] = request["warehouse"]
        elif kind == "rest":
            settings[f"{prefix}.uri"] = request["uri"]
            if request.get("warehouse"):
                settings[f"{prefix}.warehouse"] = request["warehouse"]
        else:
            raise ValueError(f"catalog type {kind!r} is not supported (hadoop or rest)")
        s3 = request.get("s3")
        if s3:
            settings[f"{prefix}.io-impl"] = "org.apache.iceberg.aws.s3.S3FileIO"
            for key, option in (("endpoint", "s3.endpoint"), ("region", "client.region"),
                                ("access_key_id", "s3.access-key-id"), ("secret_access_key", "s3.secret-access-key")):
                if s3.get(key) is not None:
                    settings[f"{prefix}.{option}"] = str(s3[key])
            settings[f"{prefix}.s3.path-style-access"] = "true" if s3.get("path_style", True) else "false"
        for key, value in (request.get("properties") or {}).items():
            settings[f"{prefix}.{key}"] = str(value)
        for key, value in settings.items():
            self.spark.conf.set(key, value)
        self.catalogs.add(name)
        return {"ok": True}

    def sql(self, request):
        frame = self.spark.sql(request["query"])
        columns = frame.columns
        rows = [{name: to_json_value(value) for name, value in zip(columns, row)} for row in frame.collect()]
        answer = {"columns": columns, "rows": rows}
        if request.get("scan_metrics"):
            answer["scans"] = [metrics(scan) for scan in batch_scans(frame._jdf.queryExecution().executedPlan())]
        return answer

    def tables(self, request):
        rows = self.spark.sql(f"SHOW TABLES IN {quote(request['catalog'])}.{quote(request['namespace'])}").collect()
        return {"tables": sorted(row["tableName"] for row in rows)}


def start_spark(jars_dir, driver_memory):
    jars = sorted(glob.glob(os.path.join(jars_dir, "*.jar")))
    if not any("iceberg-spark-runtime" in os.path.basename(jar) for jar in jars):
        raise SystemExit(f"spark_reader: no iceberg-spark-runtime jar in {jars_dir}; run test/support/spark/fetch.sh")
    from pyspark.sql import SparkSession

    scratch = tempfile.mkdtemp(prefix="zombi-spark-")
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("zombi-iceberg-reader")
        .config("spark.jars", ",".join(jars))
        .config("spark.driver.memory", driver_memory)
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
        # Small tables, two cores: Spark's default 200 shuffle partitions would be 200 tiny tasks per sort.
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.catalogImplementation", "in-memory")
        .config("spark.sql.warehouse.dir", os.path.join(scratch, "spark-warehouse"))
        .config("spark.local.dir", scratch)
        # The driver's JVM is launched for us; keep its temp files in the scratch dir too.
        .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={scratch}")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--jars", required=True, help="directory with the Iceberg jars (test/support/spark/fetch.sh)")
    parser.add_argument("--driver-memory", default="1g")
    args = parser.parse_args()

    # Timestamps come out of PySpark in this process's local time zone: make it UTC. The AWS SDK
    # must never ask the EC2 metadata service for a region or credentials (no network but localhost).
    os.environ["TZ"] = "UTC"
    time.tzset()
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

    answers = protocol_stdout()
    started = time.monotonic()
    spark = start_spark(args.jars, args.driver_memory)
    import pyspark

    jvm = spark.sparkContext._jvm
    answers.write(json.dumps({
        "ready": True,
        "spark": spark.version,
        "pyspark": pyspark.__version__,
        "iceberg": str(jvm.org.apache.iceberg.IcebergBuild.version()),
        "pid": os.getpid(),
        # The JVM is PySpark's child (it exits when our stdin pipe to it closes); the tests read its RSS.
        "jvm_pid": spark.sparkContext._gateway.proc.pid,
        "startup_ms": round((time.monotonic() - started) * 1000),
    }) + "\n")

    reader = Reader(spark)
    operations = {"catalog": reader.catalog, "sql": reader.sql, "tables": reader.tables}
    for line in sys.stdin:
        if not line.strip():
            continue
        began = time.monotonic()
        try:
            request = json.loads(line)
            operation = operations.get(request.get("op"))
            if operation is None:
                raise ValueError(f"unknown op {request.get('op')!r} (catalog, sql, tables)")
            answer = operation(request)
        except Exception as error:  # noqa: BLE001 - every failure is an answer, the session stays up
            # Spark's messages end in the whole plan; the head names the problem.
            answer = {"error": f"{type(error).__name__}: {error}"[:4000]}
        answer["elapsed_ms"] = round((time.monotonic() - began) * 1000)
        answers.write(json.dumps(answer) + "\n")
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
