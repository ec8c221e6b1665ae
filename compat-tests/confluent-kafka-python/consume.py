"""Reads records with confluent-kafka's Consumer through assign() at explicit offsets, without group coordination.

librdkafka insists on a group.id for a Consumer, so one is set, but offsets are never committed and
partitions are assigned by hand: the broker's group APIs are not needed for this path.

Output: one line per record {"type": "record", "partition", "offset", "timestamp", "timestamp_type",
"key": b64|null, "value": b64|null, "headers": [[name, b64|null], ...]}, then one line
{"type": "watermarks", "partition", "low", "high"} per partition read.
Exit 2 if fewer than --count records arrived within --timeout seconds.
"""
import argparse
import sys
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition, version, libversion

from common import b64, emit, fail, log_to_stderr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--partition", type=int, action="append", required=True,
                        help="may be repeated; each partition is read from --offset")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--count", type=int, required=True, help="records to read in all")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--debug", default="")
    args = parser.parse_args()

    consumer = Consumer(log_to_stderr({
        "bootstrap.servers": args.bootstrap,
        "group.id": "zombi-e2e-assign-only",
        "enable.auto.commit": False,
        "enable.auto.offset.store": False,
        "auto.offset.reset": "error",
        "enable.partition.eof": False,
    }, args.debug))
    sys.stderr.write(f"confluent-kafka {version()}, librdkafka {libversion()[0]}\n")
    consumer.assign([TopicPartition(args.topic, partition, args.offset) for partition in args.partition])

    received = 0
    deadline = time.monotonic() + args.timeout
    try:
        while received < args.count:
            if time.monotonic() > deadline:
                fail(f"only {received} of {args.count} records within {args.timeout} s", code=2)
            message = consumer.poll(1.0)
            if message is None:
                continue
            if message.error() is not None:
                error = message.error()
                if error.code() == KafkaError._PARTITION_EOF:
                    continue
                fail(f"consumer error: {error}")
            timestamp_type, timestamp = message.timestamp()
            emit({
                "type": "record",
                "partition": message.partition(),
                "offset": message.offset(),
                "timestamp": timestamp,
                "timestamp_type": timestamp_type,
                "key": b64(message.key()),
                "value": b64(message.value()),
                "headers": [[name, b64(value)] for name, value in (message.headers() or [])],
            })
            received += 1
        for partition in args.partition:
            low, high = consumer.get_watermark_offsets(TopicPartition(args.topic, partition), timeout=30)
            emit({"type": "watermarks", "partition": partition, "low": low, "high": high})
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
