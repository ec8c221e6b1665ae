"""Consumes as a member of a consumer group with confluent-kafka: subscribe(), commit after each
record (synchronously), close() (LeaveGroup) at the end.

Output: one line per record {"type": "record", "partition", "offset", "value": b64}, one line per
rebalance {"type": "assigned"|"revoked", "partitions": [...]}, and finally {"type": "closed"}.
Stops after --count records, or when nothing arrived for --idle seconds (then exit 0 too: the
test decides whether that many records was right). With --hang the process never closes
(the test kills it, to check session expiry). --group-protocol consumer joins with KIP-848 (the broker
assigns, with --remote-assignor if given; session and heartbeat are the broker's, and rebalance
callbacks get only the partitions added or removed).
"""
import argparse
import sys
import time

from confluent_kafka import Consumer, KafkaError, version, libversion

from common import b64, emit, log_to_stderr


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--count", type=int, default=1 << 30)
    parser.add_argument("--idle", type=float, default=5.0)
    parser.add_argument("--assignor", default="range")
    parser.add_argument("--session-timeout-ms", type=int, default=10000)
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--group-protocol", default="classic", choices=["classic", "consumer"])
    parser.add_argument("--remote-assignor", default="")
    parser.add_argument("--debug", default="")
    args = parser.parse_args()

    config = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
    }
    if args.group_protocol == "consumer":
        config["group.protocol"] = "consumer"
        if args.remote_assignor:
            config["group.remote.assignor"] = args.remote_assignor
    else:
        config.update({
            "partition.assignment.strategy": args.assignor,
            "session.timeout.ms": args.session_timeout_ms,
            "heartbeat.interval.ms": max(100, args.session_timeout_ms // 5),
        })
    consumer = Consumer(log_to_stderr(config, args.debug))
    sys.stderr.write(f"confluent-kafka {version()}, librdkafka {libversion()[0]}\n")

    def on_assign(_consumer, partitions):
        emit({"type": "assigned", "partitions": sorted(p.partition for p in partitions)})

    def on_revoke(_consumer, partitions):
        emit({"type": "revoked", "partitions": sorted(p.partition for p in partitions)})

    consumer.subscribe([args.topic], on_assign=on_assign, on_revoke=on_revoke)
    seen = 0
    last = time.monotonic()
    while seen < args.count:
        message = consumer.poll(0.2)
        if message is None:
            if not args.hang and time.monotonic() - last > args.idle:
                break
            continue
        if message.error():
            if message.error().code() == KafkaError._PARTITION_EOF:
                continue
            sys.stderr.write(f"consumer error: {message.error()}\n")
            continue
        emit({"type": "record", "partition": message.partition(), "offset": message.offset(), "value": b64(message.value())})
        consumer.commit(message=message, asynchronous=False)
        seen += 1
        last = time.monotonic()
    while args.hang:
        consumer.poll(0.5)
    consumer.close()
    emit({"type": "closed"})


if __name__ == "__main__":
    main()
