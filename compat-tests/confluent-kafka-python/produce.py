"""Produces JSON-lines records from stdin with confluent-kafka's Producer and prints each delivery report.

Input line: {"key": b64|null, "value": b64|null, "headers": [[name, b64|null], ...],
             "timestamp": ms (optional), "partition": int (optional)}
Output line per record, in input order: {"partition": p, "offset": o, "timestamp": ms}
Exit 1 if any delivery failed (the errors are printed to stderr).
"""
import argparse
import json
import sys

from confluent_kafka import Producer, version, libversion

from common import emit, fail, log_to_stderr, unb64


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--compression", default="none")
    parser.add_argument("--acks", default="all")
    parser.add_argument("--idempotence", action="store_true")
    parser.add_argument("--debug", default="")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()

    config = log_to_stderr({
        "bootstrap.servers": args.bootstrap,
        "compression.type": args.compression,
        "acks": args.acks,
        # Off unless asked: the default path checks plain produce, --idempotence the InitProducerId path.
        "enable.idempotence": args.idempotence,
        "message.timeout.ms": int(args.timeout * 1000),
        # Records of one run go out together, mostly in one batch, so the codec tests see real compression.
        "linger.ms": 500,
    }, args.debug)
    producer = Producer(config)
    sys.stderr.write(f"confluent-kafka {version()}, librdkafka {libversion()[0]}\n")

    reports = []
    errors = []

    def on_delivery(index):
        def report(error, message):
            if error is not None:
                errors.append(f"record {index}: {error}")
                return
            timestamp_type, timestamp = message.timestamp()
            reports.append((index, {"partition": message.partition(), "offset": message.offset(),
                                    "timestamp": timestamp, "timestamp_type": timestamp_type}))
        return report

    for index, line in enumerate(sys.stdin):
        if not line.strip():
            continue
        record = json.loads(line)
        kwargs = {
            "key": unb64(record.get("key")),
            "value": unb64(record.get("value")),
            "headers": [(name, unb64(value)) for name, value in record.get("headers", [])],
            "on_delivery": on_delivery(index),
        }
        if record.get("timestamp") is not None:
            kwargs["timestamp"] = record["timestamp"]
        if record.get("partition") is not None:
            kwargs["partition"] = record["partition"]
        producer.produce(args.topic, **kwargs)
        producer.poll(0)

    remaining = producer.flush(args.timeout)
    if remaining:
        errors.append(f"{remaining} records still undelivered after {args.timeout} s")
    for _, report in sorted(reports, key=lambda entry: entry[0]):
        emit(report)
    if errors:
        fail("\n".join(errors))


if __name__ == "__main__":
    main()
