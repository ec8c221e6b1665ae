"""A static group member (group.instance.id) with confluent-kafka that reports its rebalances and
errors and otherwise just keeps consuming, until killed or until --seconds pass.

Output: {"type": "member", "instance"} at start, {"type": "assigned"|"revoked", "partitions": [...]}
per rebalance callback, {"type": "error", "code", "name", "fatal", "error"} per consumer error, and
{"type": "closed"} on a normal end. A fatal error (e.g. fenced by another instance with the same
group.instance.id) ends the loop.
"""
import argparse
import sys
import time

from confluent_kafka import Consumer, KafkaError, version, libversion

from common import emit, log_to_stderr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--instance", required=True)
    parser.add_argument("--session-timeout-ms", type=int, default=6000)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--debug", default="")
    args = parser.parse_args()

    consumer = Consumer(log_to_stderr({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "group.instance.id": args.instance,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "session.timeout.ms": args.session_timeout_ms,
        "heartbeat.interval.ms": max(100, args.session_timeout_ms // 10),
    }, args.debug))
    sys.stderr.write(f"confluent-kafka {version()}, librdkafka {libversion()[0]}\n")

    def on_assign(_consumer, partitions):
        emit({"type": "assigned", "partitions": sorted(p.partition for p in partitions)})

    def on_revoke(_consumer, partitions):
        emit({"type": "revoked", "partitions": sorted(p.partition for p in partitions)})

    emit({"type": "member", "instance": args.instance})
    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is None or message.error() is None:
            continue
        error = message.error()
        # librdkafka reports a fatal error (e.g. FENCED_INSTANCE_ID) to the application as _FATAL, whose
        # own fatal() is False; the underlying reason is only in the message.
        fatal = error.fatal() or error.code() == KafkaError._FATAL
        emit({"type": "error", "code": error.code(), "name": error.name(), "fatal": fatal, "error": error.str()})
        if fatal:
            sys.exit(4)
    consumer.close()
    emit({"type": "closed"})


if __name__ == "__main__":
    main()
