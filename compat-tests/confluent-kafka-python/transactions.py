"""confluent-kafka's transactional producer against a broker: init_transactions, then transactions
committed and aborted, a second producer of the same transactional.id fencing the first, and what
read_committed and read_uncommitted consumers read back.

Output: one line {"type": "result", "committed": [...], "uncommitted": [...], "fenced": str} with the
values (UTF-8) each isolation level read from the beginning of partition 0, and the error the fenced
producer's commit got.
"""
import argparse
import time

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from common import emit, fail, log_to_stderr


def producer(bootstrap, transactional_id, debug):
    return Producer(log_to_stderr({"bootstrap.servers": bootstrap, "transactional.id": transactional_id, "transaction.timeout.ms": 60000}, debug))


def send(prod, topic, prefix, count):
    for i in range(count):
        prod.produce(topic, value=f"{prefix}{i}".encode(), partition=0)
    prod.flush(30)


def read_all(bootstrap, topic, isolation, debug, timeout_s=60):
    consumer = Consumer(log_to_stderr({
        "bootstrap.servers": bootstrap, "group.id": f"txn-reader-{isolation}", "enable.auto.commit": False,
        "isolation.level": isolation, "auto.offset.reset": "earliest",
    }, debug))
    tp = TopicPartition(topic, 0, 0)
    consumer.assign([tp])
    # The end a consumer of this isolation level reads to: the last stable offset for read_committed.
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=15)
    values = []
    deadline = time.monotonic() + timeout_s
    while True:
        position = consumer.position([TopicPartition(topic, 0)])[0].offset
        if position >= high:
            break
        if time.monotonic() > deadline:
            fail(f"{isolation}: position {position} did not reach {high} within {timeout_s} s", 2)
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            if message.error().code() == -191:  # _PARTITION_EOF
                continue
            raise KafkaException(message.error())
        values.append(message.value().decode())
    consumer.close()
    return values


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--transactional-id", required=True)
    parser.add_argument("--debug", default="")
    args = parser.parse_args()
    first = producer(args.bootstrap, args.transactional_id, args.debug)
    first.init_transactions(30)
    first.begin_transaction()
    send(first, args.topic, "c", 3)
    first.commit_transaction(30)
    first.begin_transaction()
    send(first, args.topic, "a", 2)
    first.abort_transaction(30)
    first.begin_transaction()
    send(first, args.topic, "d", 2)
    first.commit_transaction(30)
    # A second producer of the id fences the first, whose open transaction is aborted.
    first.begin_transaction()
    send(first, args.topic, "z", 1)
    second = producer(args.bootstrap, args.transactional_id, args.debug)
    second.init_transactions(30)
    fenced = ""
    try:
        first.commit_transaction(30)
    except KafkaException as error:
        fenced = error.args[0].name()
    second.begin_transaction()
    send(second, args.topic, "n", 2)
    second.commit_transaction(30)
    emit({
        "type": "result",
        "committed": read_all(args.bootstrap, args.topic, "read_committed", args.debug),
        "uncommitted": read_all(args.bootstrap, args.topic, "read_uncommitted", args.debug),
        "fenced": fenced,
    })


if __name__ == "__main__":
    main()
