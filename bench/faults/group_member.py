"""A consumer group member for the SIGSTOP fault scenario (bench/faults/sigstop.ts), with librdkafka.

Like compat-tests/confluent-kafka-python/group_consume.py (subscribe, commit after every record,
synchronously), but it survives a failed commit the way an application should: a commit refused
because the group moved on (e.g. UNKNOWN_MEMBER_ID after the broker was frozen past the session
timeout) is counted and the member carries on; librdkafka rejoins and the records after the last
successful commit are delivered again. Stops when nothing arrived for --idle seconds.
Output: {"type": "record", "value": b64} per record, {"type": "assigned", "partitions": [...]} per
assignment, then {"type": "closed", "commit_failures": n, "first_failure": text|null}.
"""
import argparse
import base64
import json
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException


def emit(document):
    sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--idle", type=float, default=10.0)
    parser.add_argument("--session-timeout-ms", type=int, default=6000)
    args = parser.parse_args()

    consumer = Consumer({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": args.session_timeout_ms,
        "heartbeat.interval.ms": max(100, args.session_timeout_ms // 5),
    })

    def on_assign(_consumer, partitions):
        emit({"type": "assigned", "partitions": sorted(p.partition for p in partitions)})

    consumer.subscribe([args.topic], on_assign=on_assign)
    failures = 0
    first_failure = None
    last = time.monotonic()
    while time.monotonic() - last < args.idle:
        message = consumer.poll(0.2)
        if message is None:
            continue
        if message.error():
            if message.error().code() != KafkaError._PARTITION_EOF:
                sys.stderr.write(f"consumer error: {message.error()}\n")
            continue
        emit({"type": "record", "value": base64.b64encode(message.value()).decode("ascii")})
        last = time.monotonic()
        try:
            consumer.commit(message=message, asynchronous=False)
        except KafkaException as error:
            failures += 1
            if first_failure is None:
                first_failure = str(error.args[0])
    consumer.close()
    emit({"type": "closed", "commit_failures": failures, "first_failure": first_failure})
    sys.stdout.flush()


if __name__ == "__main__":
    main()
