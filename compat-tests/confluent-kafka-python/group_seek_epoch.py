"""Checks librdkafka's offset validation against the broker's leader epochs (KIP-320).

A consumer of group --group reads the first record of partition 0 (and reports the leader epoch
that record carries), then seek()s to --offset with leader epoch --epoch. A seek with an epoch
makes librdkafka send OffsetForLeaderEpoch; if the broker's answer has no epoch, librdkafka resets
the position by auto.offset.reset, which is "error" here, so a reset shows up as a consumer error.

Output: {"type": "first", "offset", "leader_epoch"}, then {"type": "after_seek", "offset",
"leader_epoch"} for the record read after the seek, or {"type": "error", "error"} (exit 3).
"""
import argparse
import sys
import time

from confluent_kafka import Consumer, KafkaError, TopicPartition, version, libversion

from common import emit, fail, log_to_stderr


def next_record(consumer, deadline):
    while time.monotonic() < deadline:
        message = consumer.poll(0.5)
        if message is None:
            continue
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                continue
            emit({"type": "error", "error": str(error)})
            sys.exit(3)
        return message
    fail("no record before the deadline", code=2)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--offset", type=int, required=True)
    parser.add_argument("--epoch", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--debug", default="")
    args = parser.parse_args()

    consumer = Consumer(log_to_stderr({
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "enable.auto.commit": False,
        "auto.offset.reset": "error",
        "enable.partition.eof": False,
    }, args.debug))
    sys.stderr.write(f"confluent-kafka {version()}, librdkafka {libversion()[0]}\n")
    deadline = time.monotonic() + args.timeout
    try:
        consumer.assign([TopicPartition(args.topic, 0, 0)])
        first = next_record(consumer, deadline)
        emit({"type": "first", "offset": first.offset(), "leader_epoch": first.leader_epoch()})
        consumer.seek(TopicPartition(args.topic, 0, args.offset, leader_epoch=args.epoch))
        after = next_record(consumer, deadline)
        emit({"type": "after_seek", "offset": after.offset(), "leader_epoch": after.leader_epoch()})
    finally:
        consumer.close()


if __name__ == "__main__":
    main()
