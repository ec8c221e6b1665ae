"""Reads a Zombi topic table with independent Iceberg readers (DuckDB's iceberg extension,
pyiceberg) and prints what they see as JSON lines, for the end-to-end tests to compare with
what was produced. Bytes are base64. Nothing is downloaded: DuckDB loads its extensions from
the duckdb-ext-* packages installed by scripts/install-test-deps.sh.

A table is found either by its directory (TABLE_DIR, the metadata files read directly) or, with
--catalog URI, by its name through an Iceberg REST catalog such as the broker's own under
http://<host>:<port>/iceberg (DuckDB: ATTACH ... TYPE ICEBERG; pyiceberg: a rest catalog); then
TABLE is the table name in --namespace, and the S3 options give the reader its own storage access.

  read_table.py rows TABLE --reader duckdb|pyiceberg [--snapshot ID] [--where SQL] [CATALOG OPTIONS]
  read_table.py tables --catalog URI --reader duckdb|pyiceberg [--namespace NS]   table names, one per line
  read_table.py info TABLE_DIR            schema, spec, sort order, snapshots, files with bounds
  read_table.py files TABLE [CATALOG OPTIONS]   paths of the current snapshot's data files (pyiceberg)
  read_table.py files-scanned TABLE_DIR WHERE   DuckDB's "Total Files Read" for a filtered count
  read_table.py key-files TABLE_DIR KEY_B64     data files pyiceberg plans for key = KEY, and in all
  read_table.py inspect TABLE_DIR         every pyiceberg metadata table (table.inspect.*): rows and totals
  read_table.py columns TABLE_DIR COLUMNS --reader duckdb|pyiceberg [--where SQL]   the named columns
                                          (typed ones too) of every row, ordered by partition, sequence
  read_table.py planned TABLE_DIR FILTER  data files pyiceberg plans for a row filter, and in all

--reader polars reads rows with polars.scan_iceberg over pyiceberg's table.

CATALOG OPTIONS: --catalog URI [--namespace NS] [--s3-endpoint URL] [--s3-region R]
  [--s3-access-key-id K --s3-secret-access-key S]
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


def sql_string(value):
    return "'" + value.replace("'", "''") + "'"


def sql_name(value):
    return '"' + value.replace('"', '""') + '"'


def duckdb_catalog(args):
    """A connection with the REST catalog attached as `catalog` (its REST client needs httpfs)."""
    con = duckdb_connection()
    con.execute("LOAD httpfs")
    if args.s3_endpoint or args.s3_access_key_id:
        options = ["TYPE S3"]
        if args.s3_access_key_id:
            options += [f"KEY_ID {sql_string(args.s3_access_key_id)}", f"SECRET {sql_string(args.s3_secret_access_key)}"]
        if args.s3_region:
            options.append(f"REGION {sql_string(args.s3_region)}")
        if args.s3_endpoint:
            scheme, _, host = args.s3_endpoint.partition("://")
            options += [f"ENDPOINT {sql_string(host)}", f"USE_SSL {'true' if scheme == 'https' else 'false'}", "URL_STYLE 'path'"]
        con.execute(f"CREATE SECRET ({', '.join(options)})")
    # The warehouse name is required by ATTACH; Zombi's catalog has one warehouse and ignores it.
    options = [f"ENDPOINT {sql_string(args.catalog)}", "AUTHORIZATION_TYPE 'none'"]
    if args.s3_access_key_id:
        # Otherwise DuckDB makes a secret of each table load's S3 config, scoped to the table's location, and that
        # secret (no keys in it when the catalog vends none) wins over the one above: requests go out unsigned.
        options.append("ACCESS_DELEGATION_MODE 'none'")
    con.execute(f"ATTACH 'zombi' AS catalog (TYPE ICEBERG, {', '.join(options)})")
    return con


def pyiceberg_catalog(args):
    from pyiceberg.catalog import load_catalog

    properties = {"type": "rest", "uri": args.catalog}
    for option, key in [("s3_endpoint", "s3.endpoint"), ("s3_region", "s3.region"), ("s3_access_key_id", "s3.access-key-id"), ("s3_secret_access_key", "s3.secret-access-key")]:
        if getattr(args, option):
            properties[key] = getattr(args, option)
    return load_catalog("zombi", **properties)


def tables(args):
    if args.reader == "duckdb":
        con = duckdb_catalog(args)
        names = [row[0] for row in con.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_catalog = 'catalog' AND table_schema = ? ORDER BY table_name", [args.namespace]).fetchall()]
    else:
        names = sorted(identifier[-1] for identifier in pyiceberg_catalog(args).list_tables(args.namespace))
    for name in names:
        print(json.dumps(name))


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


def rows_duckdb(table_dir, snapshot, where, args):
    if args.catalog:
        con = duckdb_catalog(args)
        source = f"catalog.{sql_name(args.namespace)}.{sql_name(table_dir)}" + (f" AT (VERSION => {int(snapshot)})" if snapshot else "")
    else:
        con = duckdb_connection()
        source = f"iceberg_scan('{table_dir}'" + (f", snapshot_from_id => {int(snapshot)}" if snapshot else "") + ")"
    query = f"SELECT {COLUMNS} FROM {source}" + (f" WHERE {where}" if where else "") + " ORDER BY partition, sequence"
    cursor = con.execute(query)
    names = [d[0] for d in cursor.description]
    for values in cursor.fetchall():
        print(json.dumps(row_json(dict(zip(names, values)))))


def rows_pyiceberg(table_dir, snapshot, where, args):
    from pyiceberg.table import StaticTable

    if args.catalog:
        table = pyiceberg_catalog(args).load_table((args.namespace, table_dir))
    else:
        table = StaticTable.from_metadata(current_metadata(table_dir))
    scan = table.scan(snapshot_id=int(snapshot) if snapshot else None, row_filter=where or "True")
    arrow = scan.to_arrow()
    for row in arrow.to_pylist():
        row["timestamp_us"] = int(row["timestamp"].timestamp() * 1_000_000)
        print(json.dumps(row_json(row)))


def rows_polars(table_dir, snapshot, where, args):
    # Polars plans with pyiceberg unless the separate polars_iceberg planner is installed; say so, without a warning.
    os.environ.setdefault("POLARS_ICEBERG_PLANNER", "pyiceberg")
    import polars as pl
    from pyiceberg.table import StaticTable

    table = StaticTable.from_metadata(current_metadata(table_dir))
    frame = pl.scan_iceberg(table, snapshot_id=int(snapshot) if snapshot else None).collect()
    for row in frame.to_arrow().to_pylist():
        row["timestamp_us"] = int(row["timestamp"].timestamp() * 1_000_000)
        print(json.dumps(row_json(row)))


def key_files(table_dir, key_b64):
    """Data files pyiceberg's scan planning keeps for key = KEY (pruned by the manifests' key bounds), and all of them."""
    from pyiceberg.expressions import EqualTo
    from pyiceberg.table import StaticTable

    table = StaticTable.from_metadata(current_metadata(table_dir))
    planned = list(table.scan(row_filter=EqualTo("key", base64.b64decode(key_b64))).plan_files())
    rows = table.scan(row_filter=EqualTo("key", base64.b64decode(key_b64))).to_arrow().num_rows
    print(json.dumps({"planned": len(planned), "data_files": len(list(table.scan().plan_files())), "rows": rows}))


INSPECT_TABLES = ["snapshots", "history", "metadata_log_entries", "refs", "manifests", "all_manifests", "entries",
                  "files", "data_files", "delete_files", "all_files", "all_data_files", "all_delete_files", "partitions"]


def inspect(table_dir):
    """Loads every table.inspect.* table; per table its row count and the sums the test compares."""
    from pyiceberg.table import StaticTable

    table = StaticTable.from_metadata(current_metadata(table_dir))
    out = {}
    for name in INSPECT_TABLES:
        arrow = getattr(table.inspect, name)()
        summary = {"rows": arrow.num_rows}
        for column in ("record_count", "file_count", "added_data_files_count", "file_size_in_bytes"):
            if column in arrow.column_names:
                summary[column] = sum(value or 0 for value in arrow.column(column).to_pylist())
        if name == "entries":
            summary["record_count"] = sum(entry["record_count"] for entry in arrow.column("data_file").to_pylist())
            summary["column_sizes"] = min(len(entry["column_sizes"] or {}) for entry in arrow.column("data_file").to_pylist())
        if name == "refs":
            summary["names"] = sorted(arrow.column("name").to_pylist())
        out[name] = summary
    print(json.dumps(out))


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


def data_files(table_dir, args):
    """The data files the table's current snapshot references (pyiceberg's scan plan), one path per line."""
    from pyiceberg.table import StaticTable

    table = pyiceberg_catalog(args).load_table((args.namespace, table_dir)) if args.catalog else StaticTable.from_metadata(current_metadata(table_dir))
    for task in table.scan().plan_files():
        print(json.dumps(task.file.file_path))


def files_scanned(table_dir, where):
    con = duckdb_connection()
    plan = con.execute(f"EXPLAIN ANALYZE SELECT count(*) FROM iceberg_scan('{table_dir}') WHERE {where}").fetchall()
    text = "\n".join(str(part) for row in plan for part in row)
    match = re.search(r"Total Files Read:\s*(\d+)", text)
    count = con.execute(f"SELECT count(*) FROM iceberg_scan('{table_dir}') WHERE {where}").fetchone()[0]
    total = con.execute(f"SELECT count(*) FROM iceberg_metadata('{table_dir}') WHERE manifest_content = 'DATA' AND status <> 'DELETED'").fetchone()[0]
    print(json.dumps({"files_read": None if match is None else int(match.group(1)), "data_files": total, "rows": count, "plan": text if match is None else None}))


def plain(value):
    """A reader's value as JSON: bytes base64, decimals as text, dates ISO, timestamps as microseconds since the epoch."""
    import datetime
    import decimal
    import uuid

    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return b64(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        delta = value - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def columns(table_dir, names, reader, where):
    """Rows as {column: value}; maps come as lists of {key, value} from both readers."""
    wanted = [name.strip() for name in names.split(",")]
    if reader == "duckdb":
        con = duckdb_connection()
        query = f"SELECT {', '.join(sql_name(name) for name in wanted)} FROM iceberg_scan('{table_dir}')" + (f" WHERE {where}" if where else "") + " ORDER BY partition, sequence"
        # Through Arrow: DuckDB's own Python conversion of timestamptz needs pytz.
        rows = con.execute(query).fetch_arrow_table().to_pylist()
    else:
        from pyiceberg.table import StaticTable

        table = StaticTable.from_metadata(current_metadata(table_dir))
        rows = table.scan(row_filter=where or "True", selected_fields=tuple(wanted)).to_arrow().sort_by([("partition", "ascending"), ("sequence", "ascending")]).to_pylist()
        rows = [{name: row[name] for name in wanted} for row in rows]
    for row in rows:
        print(json.dumps(plain(normalize_maps(row)), sort_keys=True))


def normalize_maps(value):
    """DuckDB gives a MAP as a dict, pyarrow as a list of (key, value) tuples: both become [{key, value}]."""
    if isinstance(value, dict):
        return {key: normalize_maps(item) for key, item in value.items()}
    if isinstance(value, list):
        if value and all(isinstance(item, tuple) and len(item) == 2 for item in value):
            return [{"key": normalize_maps(k), "value": normalize_maps(v)} for k, v in value]
        return [normalize_maps(item) for item in value]
    return value


def planned(table_dir, row_filter):
    from pyiceberg.table import StaticTable

    table = StaticTable.from_metadata(current_metadata(table_dir))
    kept = len(list(table.scan(row_filter=row_filter).plan_files()))
    total = len(list(table.scan().plan_files()))
    print(json.dumps({"planned": kept, "data_files": total}))


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command", required=True)
    rows = sub.add_parser("rows")
    rows.add_argument("table_dir", metavar="TABLE")
    rows.add_argument("--reader", choices=["duckdb", "pyiceberg", "polars"], required=True)
    rows.add_argument("--snapshot")
    rows.add_argument("--where")
    listing = sub.add_parser("tables")
    listing.add_argument("--reader", choices=["duckdb", "pyiceberg"], required=True)
    files = sub.add_parser("files")
    files.add_argument("table_dir", metavar="TABLE")
    for command in (rows, listing, files):
        command.add_argument("--catalog", required=command is listing, help="Iceberg REST catalog URI; TABLE is then a table name")
        command.add_argument("--namespace", default="zombi")
        command.add_argument("--s3-endpoint")
        command.add_argument("--s3-region")
        command.add_argument("--s3-access-key-id")
        command.add_argument("--s3-secret-access-key")
    info_parser = sub.add_parser("info")
    info_parser.add_argument("table_dir")
    scanned = sub.add_parser("files-scanned")
    scanned.add_argument("table_dir")
    scanned.add_argument("where")
    keyed = sub.add_parser("key-files")
    keyed.add_argument("table_dir")
    keyed.add_argument("key_b64")
    inspected = sub.add_parser("inspect")
    inspected.add_argument("table_dir")
    columned = sub.add_parser("columns")
    columned.add_argument("table_dir")
    columned.add_argument("names")
    columned.add_argument("--reader", choices=["duckdb", "pyiceberg"], required=True)
    columned.add_argument("--where")
    planner = sub.add_parser("planned")
    planner.add_argument("table_dir")
    planner.add_argument("row_filter")
    args = parser.parse_args()
    if args.command == "rows":
        {"duckdb": rows_duckdb, "pyiceberg": rows_pyiceberg, "polars": rows_polars}[args.reader](args.table_dir, args.snapshot, args.where, args)
    elif args.command == "tables":
        tables(args)
    elif args.command == "files":
        data_files(args.table_dir, args)
    elif args.command == "info":
        info(args.table_dir)
    elif args.command == "key-files":
        key_files(args.table_dir, args.key_b64)
    elif args.command == "inspect":
        inspect(args.table_dir)
    elif args.command == "columns":
        columns(args.table_dir, args.names, args.reader, args.where)
    elif args.command == "planned":
        planned(args.table_dir, args.row_filter)
    else:
        files_scanned(args.table_dir, args.where)


if __name__ == "__main__":
    sys.exit(main())
