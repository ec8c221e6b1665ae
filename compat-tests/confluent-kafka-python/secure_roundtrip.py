"""Produces --count records to --topic and reads them back (assign at offset 0) over a secured connection.

Security settings come as repeated -X name=value (librdkafka names: security.protocol, ssl.ca.location,
ssl.certificate.location, sasl.mechanism, sasl.username, ...), so one script covers SSL, mTLS and SASL.

Output: one line {"type": "produced", "offsets": [...]} and one {"type": "consumed", "values": [...]}
(values as text); or, when the client reports an error, one line {"type": "error", "stage", "code",
"name", "message"} and exit 3, so the tests can check the client's usual error.
"""
import argparse
import sys
import time

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

from common import emit, log_to_stderr


def settings(pairs):
    out = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        out[name] = value
    return out


def report(stage, error):
    emit({"type": "error", "stage": stage, "code": error.code(), "name": error.name(), "message": error.str()})
    sys.exit(3)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--count", type=int, default=3)
    parser.add_argument("-X", dest="extra", action="append", default=[])
    parser.add_argument("--oauth-token", default=None, help="a signed JWT handed to librdkafka by oauth_cb (OAUTHBEARER)")
    parser.add_argument("--debug", default="")
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    security = settings(args.extra)
    if args.oauth_token is not None:
        # librdkafka's own OAUTHBEARER tokens are unsigned ("alg": "none"); a broker that checks signatures needs a real one.
        security["oauth_cb"] = lambda _config: (args.oauth_token, time.time() + 3600)

    errors = []

    def on_error(error):
        # Authentication and TLS failures come here; they are final for this test.
        if error.code() in (KafkaError._AUTHENTICATION, KafkaError._SSL, KafkaError.SASL_AUTHENTICATION_FAILED) or error.fatal():
            errors.append(error)

    producer = Producer(log_to_stderr({
        "bootstrap.servers": args.bootstrap, "error_cb": on_error, "message.timeout.ms": int(args.timeout * 1000),
        **security}, args.debug))
    offsets = []
    failures = []

    def delivered(error, message):
        if error is not None:
            failures.append(error)
        else:
            offsets.append(message.offset())

    deadline = time.time() + args.timeout
    for i in range(args.count):
        producer.produce(args.topic, value=f"secure-{i}".encode(), on_delivery=delivered)
    while len(offsets) + len(failures) < args.count and time.time() < deadline and not errors:
        producer.poll(0.2)
    if errors:
        report("produce", errors[0])
    if failures:
        report("produce", failures[0])
    emit({"type": "produced", "offsets": offsets})

    consumer = Consumer(log_to_stderr({
        "bootstrap.servers": args.bootstrap, "group.id": "secure-roundtrip", "enable.auto.commit": False,
        "error_cb": on_error, **security}, args.debug))
    consumer.assign([TopicPartition(args.topic, 0, 0)])
    values = []
    while len(values) < args.count and time.time() < deadline and not errors:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error() is not None:
            if message.error().code() == KafkaError._PARTITION_EOF:
                continue
            report("consume", message.error())
        values.append(message.value().decode())
    consumer.close()
    if errors:
        report("consume", errors[0])
    emit({"type": "consumed", "values": values})


if __name__ == "__main__":
    try:
        main()
    except KafkaException as exception:
        report("client", exception.args[0])
