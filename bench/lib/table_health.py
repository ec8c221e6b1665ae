"""Health of one Zombi topic table on local disk, for bench/maintenance.ts: prints one JSON object.

  table_health.py TABLE_DIR [--runs N]

What the table is made of (data files per table partition, average size, snapshots, manifests of the
current snapshot, bytes of the newest metadata.json, metadata.json files on disk) and how long DuckDB
and pyiceberg take for a full scan and for a one-hour filter (the table partition holding the most
rows): the median of N runs after one warm-up, each on a fresh DuckDB connection (opened, extensions
loaded, outside the timing: ~0.2 s of fixed cost that would hide the table's part) / a fresh pyiceberg
StaticTable (loaded inside the timing: planning is part of the query). Python start-up is not counted.
"""
import argparse
import glob
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "compat-tests", "iceberg-readers"))
from read_table import current_metadata, duckdb_connection  # noqa: E402


def timed(fn, runs, prepare=lambda: None):
    """Median seconds of fn(prepared) over runs, after one warm-up; prepare() (untimed) makes each run's fresh state."""
    fn(prepare())  # warm-up, not counted: the first query pays for imports and cold caches
    seconds, result = [], None
    for _ in range(runs):
        prepared = prepare()
        started = time.perf_counter()
        result = fn(prepared)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("table_dir")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from pyiceberg.expressions import And, EqualTo
    from pyiceberg.table import StaticTable

    metadata_path = current_metadata(args.table_dir)
    with open(metadata_path) as f:
        metadata = json.load(f)
    table = StaticTable.from_metadata(metadata_path)
    files = table.inspect.files().to_pylist()
    manifests = table.inspect.manifests().num_rows
    per_partition = {}
    rows_per_partition = {}
    for entry in files:
        part = entry["partition"]
        key = (str(part["event_date"]), part["event_hour"])
        per_partition[key] = per_partition.get(key, 0) + 1
        rows_per_partition[key] = rows_per_partition.get(key, 0) + entry["record_count"]
    busiest = max(rows_per_partition, key=rows_per_partition.get)
    sizes = [entry["file_size_in_bytes"] for entry in files]

    duck_full_sql = f"SELECT count(*), sum(octet_length(payload)) FROM iceberg_scan('{metadata_path}')"
    duck_hour_sql = f"{duck_full_sql} WHERE event_date = DATE '{busiest[0]}' AND event_hour = {busiest[1]}"

    def duck(sql):
        # A fresh connection per run, opened and with its extensions loaded outside the timing (~0.2 s of fixed cost).
        def run(con):
            try:
                return con.execute(sql).fetchone()[0]
            finally:
                con.close()
        return run

    def py(row_filter):
        fresh = StaticTable.from_metadata(metadata_path)
        scan = fresh.scan() if row_filter is None else fresh.scan(row_filter=row_filter)
        return scan.to_arrow().num_rows

    hour_filter = And(EqualTo("event_date", busiest[0]), EqualTo("event_hour", busiest[1]))
    duck_full, duck_full_rows = timed(duck(duck_full_sql), args.runs, duckdb_connection)
    duck_hour, duck_hour_rows = timed(duck(duck_hour_sql), args.runs, duckdb_connection)
    py_full, py_full_rows = timed(lambda _: py(None), args.runs)
    py_hour, py_hour_rows = timed(lambda _: py(hour_filter), args.runs)
    total = sum(entry["record_count"] for entry in files)
    if not (duck_full_rows == py_full_rows == total and duck_hour_rows == py_hour_rows == rows_per_partition[busiest]):
        raise SystemExit(f"readers disagree: files {total}/{rows_per_partition[busiest]}, duckdb {duck_full_rows}/{duck_hour_rows}, pyiceberg {py_full_rows}/{py_hour_rows}")

    print(json.dumps({
        "rows": total,
        "hour_rows": rows_per_partition[busiest],
        "table_partitions": len(per_partition),
        "data_files": len(files),
        "avg_file_bytes": sum(sizes) / len(sizes) if sizes else 0,
        "snapshots": len(metadata.get("snapshots", [])),
        "manifests": manifests,
        "metadata_json_bytes": os.path.getsize(metadata_path),
        "metadata_json_files": len(glob.glob(os.path.join(args.table_dir, "metadata", "*.metadata.json"))),
        "metadata_log": len(metadata.get("metadata-log", [])),
        "duckdb_full_s": duck_full,
        "duckdb_hour_s": duck_hour,
        "pyiceberg_full_s": py_full,
        "pyiceberg_hour_s": py_hour,
    }))


if __name__ == "__main__":
    main()
