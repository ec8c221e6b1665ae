"""librdkafka's idempotent producer (confluent-kafka) for test/compat/faults.test.ts.

Sends `count` records "fault-000000", "fault-000001", ... to partition 0 of `topic` through the fault
proxy, retrying through cut connections, and prints one JSON line: how many were acknowledged, how
many failed and the first error. Exits 1 if any record failed.
Usage: librdkafka_producer.py <bootstrap> <topic> <count>
"""
import json
import sys
import time

from confluent_kafka import Producer


def main():
    bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    state = {"acknowledged": 0, "failed": 0, "first_error": None}
    fatal = []

    def on_error(error):
        # Connection cuts arrive here as transient errors; only a fatal one ends the run.
        if error.fatal():
            fatal.append(str(error))

    def on_delivery(error, _message):
        if error is None:
            state["acknowledged"] += 1
        else:
            state["failed"] += 1
            if state["first_error"] is None:
                state["first_error"] = str(error)

    producer = Producer({
        "bootstrap.servers": bootstrap,
        "client.id": "zombi-faults-librdkafka",
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 2,
        "batch.size": 4096,
        "message.timeout.ms": 300000,
        "request.timeout.ms": 10000,
        "retry.backoff.ms": 20,
        "reconnect.backoff.ms": 20,
        "reconnect.backoff.max.ms": 500,
        "error_cb": on_error,
        "log_level": 4,
    })
    started = time.monotonic()
    for i in range(count):
        value = b"fault-%06d" % i
        while True:
            try:
                producer.produce(topic, value=value, partition=0, on_delivery=on_delivery)
                break
            except BufferError:
                producer.poll(0.05)
        if fatal:
            break
        producer.poll(0)
    remaining = producer.flush(300)
    print(json.dumps({
        "acknowledged": state["acknowledged"],
        "failed": state["failed"] + remaining,
        "firstError": state["first_error"] or (fatal[0] if fatal else None),
        "elapsedMs": int((time.monotonic() - started) * 1000),
    }))
    sys.stdout.flush()
    sys.exit(0 if state["acknowledged"] == count and not fatal else 1)


if __name__ == "__main__":
    main()
