"""Reads a Zombi topic table with independent Iceberg readers (DuckDB's iceberg extension,
pyiceberg) and prints what they see as JSON lines, for the end-to-end tests to compare with
what was produced. Bytes are base64. Nothing is downloaded: DuckDB loads its extensions from
the duckdb-ext-* packages installed by scripts/install-test-deps.sh.

  read_table.py rows TABLE_DIR --reader duckdb|pyiceberg [--snapshot ID] [--where SQL]
  read_table.py info TABLE_DIR            schema, spec, sort order, snapshots, files with bounds
  read_table.py files-scanned TABLE_DIR WHERE   DuckDB's "Total Files Read" for a filtered count
"""
import argparse
import base64
import json
import os
import re
import sys


def b64(value):
    return None if value is None else base64.b64encode(bytes(value)).decode("ascii")


def current_metadata(table_dir):
    with open(os.path.join(table_dir, "metadata", "version-hint.text")) as hint:
        version = int(hint.read().strip())
    while os.path.exists(os.path.join(table_dir, "metadata", f"v{version + 1}.metadata.json")):
        version += 1
    return os.path.join(table_dir, "metadata", f"v{version}.metadata.json")


def duckdb_connection():
    import duckdb
    import duckdb_ext

    extensions = os.path.join(list(duckdb_ext.__path__)[0], "extensions")
    con = duckdb.connect(config={"extension_directory": extensions, "autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute("LOAD avro")
    con.execute("LOAD iceberg")
    return con


COLUMNS = "sequence, topic, partition, payload, timestamp_ms, idempotency_key, event_date, event_hour, key, headers, epoch_us(timestamp) AS timestamp_us, value_is_null"


def row_json(row):
    return {
        "sequence": row["sequence"],
        "topic": row["topic"],
        "partition": row["partition"],
        "payload": b64(row["payload"]),
        "timestamp_ms": row["timestamp_ms"],
        "idempotency_key": row["idempotency_key"],
        "event_date": str(row["event_date"]),
        "event_hour": row["event_hour"],
        "key": b64(row["key"]),
        "headers": None if row["headers"] is None else [{"key": h["key"], "value": b64(h["value"])} for h in row["headers"]],
        "timestamp_us": row["timestamp_us"],
        "value_is_null": row["value_is_null"],
    }


def rows_duckdb(table_dir, snapshot, where):
    con = duckdb_connection()
    source = f"iceberg_scan('{table_dir}'" + (f", snapshot_from_id => {int(snapshot)}" if snapshot else "") + ")"
    query = f"SELECT {COLUMNS} FROM {source}" + (f" WHERE {where}" if where else "") + " ORDER BY partition, sequence"
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    for values in cursor.fetchall():
        print(json.dumps(row_json(dict(zip(names, values)))))


def rows_pyiceberg(table_dir, snapshot, where):
    from pyiceberg.table import StaticTable

    table = StaticTable.from_metadata(current_metadata(table_dir))
    scan = table.scan(snapshot_id=int(snapshot) if snapshot else None, row_filter=where or "True")
    arrow = scan.to_arrow()
    for row in arrow.to_pylist():
        row["timestamp_us"] = int(row["timestamp"].timestamp() * 1_000_000)
        print(json.dumps(row_json(row)))


def info(table_dir):
    from pyiceberg.table import StaticTable

    table = StaticTable.from_metadata(current_metadata(table_dir))
    metadata = table.metadata

    def field_json(field):
        out = {"id": field.field_id, "name": field.name, "required": field.required, "type": str(field.field_type)}
        element = getattr(field.field_type, "element_field", None)
        if element is not None:
            out["element"] = field_json(element)
        fields = getattr(field.field_type, "fields", None)
        if fields is not None:
            out["fields"] = [field_json(f) for f in fields]
        return out

    files = []
    for task in table.scan().plan_files():
        data_file = task.file
        files.append({
            "path": data_file.file_path,
            "record_count": data_file.record_count,
            "size": data_file.file_size_in_bytes,
            "partition": {"event_date": data_file.partition[0], "event_hour": data_file.partition[1]},
            "lower_bounds": {str(k): v.hex() for k, v in data_file.lower_bounds.items()},
            "upper_bounds": {str(k): v.hex() for k, v in data_file.upper_bounds.items()},
            "value_counts": {str(k): v for k, v in data_file.value_counts.items()},
            "null_value_counts": {str(k): v for k, v in data_file.null_value_counts.items()},
            "sort_order_id": data_file.sort_order_id,
        })
    print(json.dumps({
        "format_version": metadata.format_version,
        "schema": [field_json(f) for f in table.schema().fields],
        "spec": [{"name": f.name, "transform": str(f.transform), "source_id": f.source_id, "field_id": f.field_id} for f in table.spec().fields],
        "sort_order": [{"source_id": f.source_id, "direction": str(f.direction)} for f in table.sort_order().fields],
        "snapshots": [{"id": str(s.snapshot_id), "parent": None if s.parent_snapshot_id is None else str(s.parent_snapshot_id),
                       "sequence_number": s.sequence_number, "summary": s.summary.additional_properties | {"operation": str(s.summary.operation.value)}}
                      for s in table.snapshots()],
        "current_snapshot": str(table.current_snapshot().snapshot_id) if table.current_snapshot() else None,
        "files": files,
    }))


def files_scanned(table_dir, where):
    con = duckdb_connection()
    plan = con.execute(f"EXPLAIN ANALYZE SELECT count(*) FROM iceberg_scan('{table_dir}') WHERE {where}").fetchall()
    text = "\n".join(str(part) for row in plan for part in row)
    match = re.search(r"Total Files Read:\s*(\d+)", text)
    count = con.execute(f"SELECT count(*) FROM iceberg_scan('{table_dir}') WHERE {where}").fetchone()[0]
    total = con.execute(f"SELECT count(*) FROM iceberg_metadata('{table_dir}') WHERE manifest_content = 'DATA' AND status <> 'DELETED'").fetchone()[0]
    print(json.dumps({"files_read": None if match is None else int(match.group(1)), "data_files": total, "rows": count, "plan": text if match is None else None}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    rows = sub.add_parser("rows")
    rows.add_argument("table_dir")
    rows.add_argument("--reader", choices=["duckdb", "pyiceberg"], required=True)
    rows.add_argument("--snapshot")
    rows.add_argument("--where")
    info_parser = sub.add_parser("info")
    info_parser.add_argument("table_dir")
    scanned = sub.add_parser("files-scanned")
    scanned.add_argument("table_dir")
    scanned.add_argument("where")
    args = parser.parse_args()
    if args.command == "rows":
        (rows_duckdb if args.reader == "duckdb" else rows_pyiceberg)(args.table_dir, args.snapshot, args.where)
    elif args.command == "info":
        info(args.table_dir)
    else:
        files_scanned(args.table_dir, args.where)


if __name__ == "__main__":
    sys.exit(main())
