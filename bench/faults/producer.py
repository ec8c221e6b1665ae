"""Idempotent acks=all load for the fault scenarios (bench/faults/), with librdkafka (confluent-kafka).

Produces records "<tag>-<i>" (padded with '.' to --value-bytes) round-robin over --partitions at about
--rate records/s for --seconds, then waits up to --timeout s for every outstanding delivery: the
broker may be killed and restarted meanwhile, librdkafka reconnects and retries (idempotence makes
the retries safe). Prints one JSON line per acknowledged record, {"id": "<tag>-<i>", "p": partition,
"o": offset}, and a last line {"done": true, "produced": n, "failed": n, "error": first error or null}.
Usage: producer.py <bootstrap> <topic> <tag> [--partitions N] [--rate R] [--seconds S] [--timeout T]
"""
import argparse
import json
import sys
import time

from confluent_kafka import Producer


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("bootstrap")
    parser.add_argument("topic")
    parser.add_argument("tag")
    parser.add_argument("--partitions", type=int, default=1)
    parser.add_argument("--rate", type=int, default=20000)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--value-bytes", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()

    state = {"failed": 0, "error": None}
    out = sys.stdout

    def on_delivery(error, message):
        if error is not None:
            state["failed"] += 1
            if state["error"] is None:
                state["error"] = str(error)
            return
        ident = message.value().decode().rstrip(".")
        out.write(f'{{"id":"{ident}","p":{message.partition()},"o":{message.offset()}}}\n')

    producer = Producer({
        "bootstrap.servers": args.bootstrap,
        "client.id": "zombi-faults",
        "enable.idempotence": True,
        "acks": "all",
        "linger.ms": 5,
        "message.timeout.ms": int(args.timeout * 1000),
        # Reconnect quickly to a restarted broker.
        "reconnect.backoff.ms": 50,
        "reconnect.backoff.max.ms": 500,
    })
    chunk = max(1, args.rate // 100)
    produced = 0
    started = time.monotonic()
    while time.monotonic() - started < args.seconds:
        due = int((time.monotonic() - started) * args.rate)
        while produced < due:
            for _ in range(min(chunk, due - produced)):
                value = f"{args.tag}-{produced}".ljust(args.value_bytes, ".")
                while True:
                    try:
                        producer.produce(args.topic, value=value.encode(), partition=produced % args.partitions, on_delivery=on_delivery)
                        break
                    except BufferError:
                        producer.poll(0.05)
                produced += 1
            producer.poll(0)
        producer.poll(0.01)
    producer.flush(args.timeout)
    out.write(json.dumps({"done": True, "produced": produced, "failed": state["failed"], "error": state["error"]}) + "\n")
    out.flush()


if __name__ == "__main__":
    main()
