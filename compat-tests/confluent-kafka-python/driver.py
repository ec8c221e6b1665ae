"""confluent-kafka's (librdkafka's) side of the compat scenarios (see compat-tests/README.md): one
scenario per run. The older produce.py/consume.py/group_consume.py beside it serve test/e2e/."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib", "python"))

from confluent_kafka import (  # noqa: E402
    OFFSET_BEGINNING, TIMESTAMP_CREATE_TIME, TIMESTAMP_LOG_APPEND_TIME, Consumer, KafkaException, Producer, TopicPartition,
)
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic, ResourceType  # noqa: E402

import compat_driver as c  # noqa: E402


def producer(ctx, **config):
    settings = {"bootstrap.servers": ctx.bootstrap, "acks": "all", "linger.ms": 200, "client.id": "compat-confluent-kafka",
                "enable.idempotence": False}
    settings.update(config)
    return Producer(settings)


def send_all(prod, ctx, messages):
    """Produces every message and waits; returns the delivered messages in order, raises on any error."""
    delivered = [None] * len(messages)
    errors = []

    def on_delivery(index):
        def report(error, message):
            if error is not None:
                errors.append(f"record {index}: {error}")
            delivered[index] = message
        return report

    for index, message in enumerate(messages):
        prod.produce(ctx.topic, on_delivery=on_delivery(index), **message)
        prod.poll(0)
    remaining = prod.flush(30)
    c.expect(remaining == 0, f"{remaining} records undelivered after 30 s")
    c.expect(not errors, "; ".join(errors))
    return delivered


def consumer(ctx, **config):
    settings = {"bootstrap.servers": ctx.bootstrap, "group.id": ctx.group, "enable.auto.commit": False,
                "auto.offset.reset": "earliest", "client.id": "compat-confluent-kafka"}
    settings.update(config)
    return Consumer(settings)


def read_partition(ctx, count, start=OFFSET_BEGINNING, timeout_s=30, **config):
    """assign() (no group membership) and read `count` records of partition 0."""
    reader = consumer(ctx, **config)
    reader.assign([TopicPartition(ctx.topic, 0, start)])
    records = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(records) < count and time.monotonic() < deadline:
            message = reader.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            records.append(message)
    finally:
        reader.close()
    c.expect(len(records) >= count, f"read {len(records)} of {count} records within {timeout_s} s")
    return records


def metadata(ctx):
    admin = AdminClient({"bootstrap.servers": ctx.bootstrap})
    cluster = admin.list_topics(topic=ctx.topic, timeout=10)
    brokers = [(b.host, b.port) for b in cluster.brokers.values()]
    c.expect_equal(brokers, [(ctx.host, ctx.port)], "brokers")
    topic = cluster.topics[ctx.topic]
    c.expect(topic.error is None, f"topic error {topic.error}")
    c.expect_equal(sorted(topic.partitions), [0, 1, 2], "partitions")
    broker_id = next(iter(cluster.brokers))
    c.expect(all(p.leader == broker_id for p in topic.partitions.values()), "every partition led by the broker")
    return f"1 broker {ctx.bootstrap}, partitions 0-2"


def admin_create_describe_delete(ctx):
    admin = AdminClient({"bootstrap.servers": ctx.bootstrap})
    futures = admin.create_topics([NewTopic(ctx.topic, num_partitions=c.ADMIN_PARTITIONS, replication_factor=1,
                                            config={c.ADMIN_CONFIG_NAME: c.ADMIN_CONFIG_VALUE})], operation_timeout=10)
    futures[ctx.topic].result(timeout=15)
    described = admin.list_topics(topic=ctx.topic, timeout=10).topics[ctx.topic]
    c.expect_equal(len(described.partitions), c.ADMIN_PARTITIONS, "partitions after create")
    resource = ConfigResource(ResourceType.TOPIC, ctx.topic)
    configs = admin.describe_configs([resource])[resource].result(timeout=15)
    c.expect_equal(configs[c.ADMIN_CONFIG_NAME].value, c.ADMIN_CONFIG_VALUE, c.ADMIN_CONFIG_NAME)
    admin.delete_topics([ctx.topic], operation_timeout=10)[ctx.topic].result(timeout=15)
    c.wait_until(lambda: ctx.topic not in admin.list_topics(timeout=10).topics, 10, "the topic to disappear from the topic list")
    return "created, described (partitions, config), deleted"


def produce_consume(codec):
    def scenario(ctx):
        prod = producer(ctx, **{"compression.type": codec, "linger.ms": 500})
        send_all(prod, ctx, [{"key": c.codec_key(i), "value": c.codec_value(i), "partition": 0} for i in range(c.CODEC_COUNT)])
        records = read_partition(ctx, c.CODEC_COUNT)
        for i, record in enumerate(records):
            c.expect_equal((record.offset(), record.key(), record.value()), (i, c.codec_key(i), c.codec_value(i)), f"record {i}")
        return f"{c.CODEC_COUNT} records"
    return scenario


def keys_headers_nulls(ctx):
    prod = producer(ctx)
    send_all(prod, ctx, [{"key": key, "value": value, "headers": headers, "partition": 0}
                         for key, value, headers in c.KEYS_HEADERS_NULLS])
    records = read_partition(ctx, len(c.KEYS_HEADERS_NULLS))
    got = [(r.key(), r.value(), list(r.headers() or [])) for r in records]
    c.expect_equal(got, c.KEYS_HEADERS_NULLS, "records")
    return "null key, tombstone, empty key/value, repeated headers"


def timestamps_create_time(ctx):
    prod = producer(ctx)
    send_all(prod, ctx, [{"value": b"t%d" % i, "timestamp": c.BASE_TS + i, "partition": 0} for i in range(c.CREATE_TIME_COUNT)])
    records = read_partition(ctx, c.CREATE_TIME_COUNT)
    c.expect_equal([r.timestamp() for r in records],
                   [(TIMESTAMP_CREATE_TIME, c.BASE_TS + i) for i in range(c.CREATE_TIME_COUNT)], "(type, timestamp)")
    return "timestamps and CreateTime type"


def timestamps_log_append_time(ctx):
    started = time.time() * 1000
    prod = producer(ctx)
    delivered = send_all(prod, ctx, [{"value": b"t%d" % i, "timestamp": c.BASE_TS, "partition": 0} for i in range(c.LOG_APPEND_TIME_COUNT)])
    records = read_partition(ctx, c.LOG_APPEND_TIME_COUNT)
    ended = time.time() * 1000
    for record in records:
        kind, timestamp = record.timestamp()
        c.expect(started - c.SLACK_MS <= timestamp <= ended + c.SLACK_MS,
                 f"timestamp {timestamp} outside the wall-clock window [{started:.0f}, {ended:.0f}]")
        c.expect_equal(kind, TIMESTAMP_LOG_APPEND_TIME, "timestamp type")
    reported = [m.timestamp() for m in delivered]
    c.expect(all(kind == TIMESTAMP_LOG_APPEND_TIME and started - c.SLACK_MS <= t <= ended + c.SLACK_MS for kind, t in reported),
             f"delivery reports (type, timestamp): {reported}")
    return "broker append time, LogAppendTime type, also in the delivery reports"


def large_record(ctx):
    value = c.large_value()
    prod = producer(ctx, **{"message.max.bytes": c.LARGE_MAX_MESSAGE_BYTES, "compression.type": "none"})
    send_all(prod, ctx, [{"key": b"large", "value": value, "partition": 0}])
    records = read_partition(ctx, 1, **{"fetch.max.bytes": 2 * c.LARGE_MAX_MESSAGE_BYTES,
                                        "max.partition.fetch.bytes": c.LARGE_MAX_MESSAGE_BYTES,
                                        "receive.message.max.bytes": 3 * c.LARGE_MAX_MESSAGE_BYTES})
    c.expect(records[0].value() == value, f"value of {len(records[0].value())} bytes differs from the {len(value)} produced")
    return f"{len(value)} bytes"


def idempotent_producer(ctx):
    # librdkafka's default is enable.idempotence=false; switch it on.
    prod = producer(ctx, **{"enable.idempotence": True})
    send_all(prod, ctx, [{"value": b"i%d" % i, "partition": 0} for i in range(c.IDEMPOTENT_COUNT)])
    records = read_partition(ctx, c.IDEMPOTENT_COUNT)
    c.expect_equal([r.value() for r in records], [b"i%d" % i for i in range(c.IDEMPOTENT_COUNT)], "values")
    return f"{c.IDEMPOTENT_COUNT} records once each (enable.idempotence=true; off by default)"


def group_member(ctx, assigned, protocol="classic"):
    if protocol == "consumer":
        # KIP-848: the broker sets the session and heartbeat interval; assignments arrive incrementally.
        member = consumer(ctx, **{"group.protocol": "consumer"})
    else:
        member = consumer(ctx, **{"session.timeout.ms": 6000, "heartbeat.interval.ms": 500})

    def on_assign(_consumer, partitions):
        if protocol == "classic":
            assigned.clear()
        assigned.extend(p.partition for p in partitions if p.partition not in assigned)

    def on_revoke(_consumer, partitions):
        if protocol == "consumer":
            for p in partitions:
                if p.partition in assigned:
                    assigned.remove(p.partition)

    member.subscribe([ctx.topic], on_assign=on_assign, on_revoke=on_revoke)
    return member


def poll_into(member, sink, timeout_s):
    message = member.poll(timeout_s)
    if message is None:
        return
    if message.error():
        raise KafkaException(message.error())
    sink.append(message.value())


def group_commit_resume(ctx, protocol="classic"):
    prod = producer(ctx)
    send_all(prod, ctx, [{"value": value, "partition": p} for p, value in c.group_first_records()])
    assigned = [[], []]
    members = [group_member(ctx, assigned[0], protocol), group_member(ctx, assigned[1], protocol)]
    seen = [[], []]
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        for index, member in enumerate(members):
            poll_into(member, seen[index], 0.1)
        # Done when the group is settled and each member has read its partitions to the end, so that its
        # commit covers them (records read before a rebalance may be read again by the new owner).
        if all(assigned) and sorted(assigned[0] + assigned[1]) == list(range(c.GROUP_PARTITIONS)) and all(
                tp.offset == c.GROUP_FIRST_PER_PARTITION
                for index, member in enumerate(members)
                for tp in member.position([TopicPartition(ctx.topic, p) for p in assigned[index]])):
            break
    owned = [sorted(assigned[0]), sorted(assigned[1])]  # closing revokes them (incrementally with KIP-848)
    c.expect(all(assigned), f"both members own partitions: {assigned}")
    c.expect_equal(sorted(assigned[0] + assigned[1]), list(range(c.GROUP_PARTITIONS)), "partitions owned once each")
    c.expect_equal(sorted(set(seen[0] + seen[1])), sorted(v for _, v in c.group_first_records()), "records read by the two members")
    for member in members:
        member.commit(asynchronous=False)
    for member in members:
        member.close()
    send_all(prod, ctx, [{"value": value, "partition": p} for p, value in c.group_second_records()])
    resumed = group_member(ctx, [], protocol)
    got = []
    deadline = time.monotonic() + 30
    while len(got) < c.GROUP_SECOND_TOTAL and time.monotonic() < deadline:
        poll_into(resumed, got, 0.3)
    extra_until = time.monotonic() + 0.5
    while time.monotonic() < extra_until:
        poll_into(resumed, got, 0.1)
    resumed.close()
    c.expect_equal(sorted(got), sorted(v for _, v in c.group_second_records()), "records read after resuming")
    prefix = "group.protocol=consumer: " if protocol == "consumer" else ""
    return f"{prefix}members owned {owned[0]} and {owned[1]}; resumed at the commits"


def kip848_group(ctx):
    return group_commit_resume(ctx, "consumer")


def consume_from_timestamp(ctx):
    prod = producer(ctx)
    send_all(prod, ctx, [{"value": b"t%d" % i, "timestamp": c.from_ts_timestamp(i), "partition": 0} for i in range(c.FROM_TS_COUNT)])
    reader = consumer(ctx)
    found = reader.offsets_for_times([TopicPartition(ctx.topic, 0, c.FROM_TS_LOOKUP)], timeout=10)[0]
    reader.close()
    c.expect(found.error is None, f"offsets_for_times error {found.error}")
    c.expect_equal(found.offset, c.FROM_TS_EXPECTED_OFFSET, "offset for the timestamp")
    records = read_partition(ctx, c.FROM_TS_COUNT - found.offset, start=found.offset)
    c.expect_equal([r.value() for r in records], [b"t%d" % i for i in range(found.offset, c.FROM_TS_COUNT)], "records from it")
    return f"offsets_for_times -> {found.offset}"


def secure_config(ctx):
    return {
        "bootstrap.servers": ctx.secure_bootstrap,
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": ctx.ca_file,
        "sasl.mechanism": ctx.sasl_mechanism,
        "sasl.username": ctx.sasl_username,
        "sasl.password": ctx.sasl_password,
    }


def sasl_scram_tls(ctx):
    prod = producer(ctx, **secure_config(ctx))
    send_all(prod, ctx, [{"key": c.secure_key(i), "value": c.secure_value(i), "partition": 0} for i in range(c.SECURE_COUNT)])
    records = read_partition(ctx, c.SECURE_COUNT, **secure_config(ctx))
    c.expect_equal([(r.key(), r.value()) for r in records], [(c.secure_key(i), c.secure_value(i)) for i in range(c.SECURE_COUNT)], "records read back over SASL_SSL")
    return f"{ctx.sasl_mechanism} over SASL_SSL: {c.SECURE_COUNT} records"


def acl_denied(ctx):
    errors = []
    prod = producer(ctx, **secure_config(ctx), **{"message.timeout.ms": 15000})
    prod.produce(ctx.topic, value=c.ACL_DENIED_VALUE, partition=0, on_delivery=lambda error, _message: errors.append(error))
    remaining = prod.flush(30)
    c.expect(remaining == 0 and len(errors) == 1, f"no delivery report within 30 s ({remaining} undelivered)")
    refused = errors[0]
    c.expect(refused is not None, "the produce succeeded without WRITE on the topic")
    c.expect(refused.name() == "TOPIC_AUTHORIZATION_FAILED", f"the produce failed, but not with TOPIC_AUTHORIZATION_FAILED: {refused}")
    records = read_partition(ctx, c.ACL_READABLE_COUNT, **secure_config(ctx))
    c.expect_equal([(r.key(), r.value()) for r in records], [(c.acl_readable_key(i), c.acl_readable_value(i)) for i in range(c.ACL_READABLE_COUNT)], "records read with READ only")
    topics = AdminClient(secure_config(ctx)).list_topics(timeout=15).topics
    c.expect(ctx.topic in topics, f"the readable topic is missing from the metadata: {sorted(topics)}")
    c.expect(ctx.hidden_topic not in topics, f"{ctx.hidden_topic} is listed though the user may not describe it")
    return f"produce refused with {refused.name()}; read {c.ACL_READABLE_COUNT} records; metadata lists {len(topics)} topic(s), not the hidden one"


def compacted_topic(ctx):
    reader = consumer(ctx)
    reader.assign([TopicPartition(ctx.topic, 0, OFFSET_BEGINNING)])
    records = []
    deadline = time.monotonic() + 30
    try:
        while (not records or records[-1][0] < c.COMPACTED_COUNT - 1) and time.monotonic() < deadline:
            message = reader.poll(0.5)
            if message is None:
                continue
            if message.error():
                raise KafkaException(message.error())
            records.append((message.offset(), message.key(), message.value()))
    finally:
        reader.close()
    problem = c.compacted_problem(records)
    c.expect(problem is None, problem)
    errors = []
    prod = producer(ctx, **{"message.timeout.ms": 15000, "retries": 0})
    prod.produce(ctx.topic, value=c.COMPACTED_KEYLESS_VALUE, partition=0, on_delivery=lambda error, _message: errors.append(error))
    remaining = prod.flush(30)
    c.expect(remaining == 0 and len(errors) == 1, f"no delivery report within 30 s ({remaining} undelivered)")
    c.expect(errors[0] is not None, "a record without a key was accepted by the compacted topic")
    c.expect(errors[0].name() == "INVALID_RECORD", f"the keyless produce failed, but not with INVALID_RECORD: {errors[0]}")
    return f"read {len(records)} of {c.COMPACTED_COUNT} records: the latest per key at its offset, tombstone None; keyless record refused with INVALID_RECORD"


def transactions_read_committed(ctx):
    prod = producer(ctx, **{"transactional.id": f"{ctx.topic}-tx", "enable.idempotence": True})
    prod.init_transactions(30)
    for values, commit in [
        ([c.txn_committed_value(i) for i in range(c.TXN_COMMITTED_FIRST)], True),
        ([c.txn_aborted_value(i) for i in range(c.TXN_ABORTED)], False),
        ([c.txn_committed_value(c.TXN_COMMITTED_FIRST + i) for i in range(c.TXN_COMMITTED_SECOND)], True),
    ]:
        prod.begin_transaction()
        send_all(prod, ctx, [{"value": value, "partition": 0} for value in values])
        if commit:
            prod.commit_transaction(30)
        else:
            prod.abort_transaction(30)
    committed = c.TXN_COMMITTED_FIRST + c.TXN_COMMITTED_SECOND
    # librdkafka consumers are read_committed by default; said explicitly.
    records = read_partition(ctx, committed, **{"isolation.level": "read_committed"})
    c.expect_equal([r.value() for r in records], [c.txn_committed_value(i) for i in range(committed)], "values read_committed")
    return f"{committed} committed records read back, the {c.TXN_ABORTED} aborted ones skipped (init/begin/commit/abort_transaction)"


c.run({
    "compacted-topic": compacted_topic,
    "transactions-read-committed": transactions_read_committed,
    "sasl-scram-tls": sasl_scram_tls,
    "acl-denied": acl_denied,
    "metadata": metadata,
    "admin-create-describe-delete": admin_create_describe_delete,
    **{f"produce-consume-{codec}": produce_consume(codec) for codec in ["none", "gzip", "snappy", "lz4", "zstd"]},
    "keys-headers-nulls": keys_headers_nulls,
    "timestamps-create-time": timestamps_create_time,
    "timestamps-log-append-time": timestamps_log_append_time,
    "large-record-1mib": large_record,
    "idempotent-producer": idempotent_producer,
    "group-commit-resume": group_commit_resume,
    "kip848-group": kip848_group,
    "consume-from-timestamp": consume_from_timestamp,
})
