"""One producer as a team using Confluent's serializers runs it: confluent-kafka's Producer with its
AvroSerializer (schema registry client pointed at the broker's /registry, auto-registering the value
schema), records built as Python dicts one by one, acks=all. For bench/flush.ts (typed tables).

    avro_serializer_producer.py --bootstrap H:P --registry URL --topic T --schema JSON --records N --bytes B

Prints one JSON line: {"records": N, "seconds": S, "cpuSeconds": C} (from the first produce() to the last
delivery; C is this process's CPU time over it, librdkafka's threads included).
"""
import argparse
import json
import sys
import time

from confluent_kafka import Producer
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

FILLER = "the quick brown fox jumps over the lazy dog 0123456789 "


def record(index, body):
    # The same shape and value pattern as avroRecord() in bench/lib/scenarios.ts.
    return {
        "id": index,
        "device": {"name": f"device-{index % 97}", "floor": index % 13},
        "celsius": 20 + (index % 50) / 4,
        "at": 1_767_000_000_000_000 + index,
        "tags": ["a", f"t{index % 7}"],
        "note": None if index % 3 == 0 else "n",
        "body": body,
    }


def main():
    parser = argparse.ArgumentParser()
    for name in ("--bootstrap", "--registry", "--topic", "--schema"):
        parser.add_argument(name, required=True)
    parser.add_argument("--records", type=int, required=True)
    parser.add_argument("--bytes", type=int, required=True)
    args = parser.parse_args()

    registry = SchemaRegistryClient({"url": args.registry})
    serializer = AvroSerializer(registry, args.schema, conf={"auto.register.schemas": True})
    context = SerializationContext(args.topic, MessageField.VALUE)
    # Pad each value to about --bytes on the wire (5-byte prefix + the fixed fields + body).
    bare = len(serializer(record(0, ""), context))
    body = (FILLER * (args.bytes // len(FILLER) + 2))[: max(0, args.bytes - bare - 1)]

    producer = Producer({
        "bootstrap.servers": args.bootstrap, "acks": "all", "linger.ms": 5, "batch.size": 1_000_000,
        "queue.buffering.max.messages": 1_000_000, "queue.buffering.max.kbytes": 1_048_576,
    })
    failures = []

    def delivered(error, _message):
        if error is not None:
            failures.append(str(error))

    started = time.perf_counter()
    cpu_started = time.process_time()
    for index in range(args.records):
        value = serializer(record(index, body), context)
        while True:
            try:
                producer.produce(args.topic, value=value, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.01)
        if index % 10_000 == 0:
            producer.poll(0)
    remaining = producer.flush(120)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    if remaining != 0 or failures:
        print(f"{remaining} records undelivered, {len(failures)} failed: {failures[:3]}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"records": args.records, "seconds": seconds, "cpuSeconds": cpu_seconds}))


if __name__ == "__main__":
    main()
