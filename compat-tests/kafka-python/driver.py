"""kafka-python's side of the compat scenarios (see compat-tests/README.md): one scenario per run."""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib", "python"))

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition  # noqa: E402
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic  # noqa: E402

import compat_driver as c  # noqa: E402

# LogAppendTime is type 1 in kafka-python's ConsumerRecord.timestamp_type.
CREATE_TIME, LOG_APPEND_TIME = 0, 1


def producer(ctx, **config):
    settings = {"bootstrap_servers": ctx.bootstrap, "acks": "all", "linger_ms": 200, "client_id": "compat-kafka-python"}
    settings.update(config)
    return KafkaProducer(**settings)


def consumer(ctx, **config):
    settings = {
        "bootstrap_servers": ctx.bootstrap,
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "client_id": "compat-kafka-python",
    }
    settings.update(config)
    return KafkaConsumer(**settings)


def read_partition(ctx, count, partition=0, start=None, timeout_s=30, **config):
    """Reads `count` records of one partition with assign() (no group), from `start` or the beginning."""
    reader = consumer(ctx, **config)
    tp = TopicPartition(ctx.topic, partition)
    reader.assign([tp])
    if start is None:
        reader.seek_to_beginning(tp)
    else:
        reader.seek(tp, start)
    records = []
    deadline = time.monotonic() + timeout_s
    while len(records) < count and time.monotonic() < deadline:
        for batch in reader.poll(timeout_ms=500).values():
            records.extend(batch)
    reader.close()
    c.expect(len(records) >= count, f"read {len(records)} of {count} records within {timeout_s} s")
    return records


def send_all(prod, ctx, messages):
    futures = [prod.send(ctx.topic, **message) for message in messages]
    prod.flush(timeout=30)
    return [future.get(timeout=30) for future in futures]


def metadata(ctx):
    admin = KafkaAdminClient(bootstrap_servers=ctx.bootstrap, client_id="compat-kafka-python")
    try:
        cluster = admin.describe_cluster()
        brokers = [(b["host"], b["port"]) for b in cluster["brokers"]]
        c.expect_equal(brokers, [(ctx.host, ctx.port)], "brokers")
        topics = admin.describe_topics([ctx.topic])
        c.expect_equal(len(topics), 1, "topics described")
        topic = topics[0]
        c.expect_equal(topic["error_code"], 0, "topic error code")
        partitions = sorted(p["partition_index"] for p in topic["partitions"])
        c.expect_equal(partitions, [0, 1, 2], "partitions")
        leader = cluster["brokers"][0]["broker_id"]
        c.expect(all(p["leader_id"] == leader for p in topic["partitions"]), "every partition led by the broker")
        return f"1 broker {ctx.bootstrap}, partitions 0-2"
    finally:
        admin.close()


def admin_create_describe_delete(ctx):
    admin = KafkaAdminClient(bootstrap_servers=ctx.bootstrap, client_id="compat-kafka-python")
    try:
        admin.create_topics([NewTopic(ctx.topic, c.ADMIN_PARTITIONS, 1, topic_configs={c.ADMIN_CONFIG_NAME: c.ADMIN_CONFIG_VALUE})])
        topics = admin.describe_topics([ctx.topic])
        c.expect_equal(len(topics[0]["partitions"]), c.ADMIN_PARTITIONS, "partitions after create")
        configs = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, ctx.topic, {c.ADMIN_CONFIG_NAME: None})])
        value = find_config_value(configs, ctx.topic, c.ADMIN_CONFIG_NAME)
        c.expect_equal(value, c.ADMIN_CONFIG_VALUE, c.ADMIN_CONFIG_NAME)
        admin.delete_topics([ctx.topic])
        c.wait_until(lambda: ctx.topic not in admin.list_topics(), 10, "the topic to disappear from list_topics")
        return "created, described (partitions, config), deleted"
    finally:
        admin.close()


def find_config_value(described, topic, name):
    """describe_configs' result shape changed across kafka-python versions; find the value in any of them."""
    if isinstance(described, dict):
        entries = described.get("topic", {}).get(topic, described.get(topic, {}))
        entry = entries.get(name)
        if isinstance(entry, dict):
            return entry.get("value")
        return entry
    for response in described:  # older versions: a list of DescribeConfigsResponse
        for resource in response.resources:
            for config in resource[4]:
                if config[0] == name:
                    return config[1]
    return None


def produce_consume(codec):
    def scenario(ctx):
        config = {} if codec == "none" else {"compression_type": codec}
        prod = producer(ctx, linger_ms=500, batch_size=1_048_576, **config)
        send_all(prod, ctx, [{"key": c.codec_key(i), "value": c.codec_value(i), "partition": 0} for i in range(c.CODEC_COUNT)])
        prod.close()
        records = read_partition(ctx, c.CODEC_COUNT)
        for i, record in enumerate(records):
            c.expect_equal((record.offset, record.key, record.value), (i, c.codec_key(i), c.codec_value(i)), f"record {i}")
        return f"{c.CODEC_COUNT} records"
    return scenario


def keys_headers_nulls(ctx):
    prod = producer(ctx)
    send_all(prod, ctx, [{"key": key, "value": value, "headers": headers, "partition": 0}
                         for key, value, headers in c.KEYS_HEADERS_NULLS])
    prod.close()
    records = read_partition(ctx, len(c.KEYS_HEADERS_NULLS))
    got = [(r.key, r.value, [(name, value) for name, value in r.headers]) for r in records]
    c.expect_equal(got, c.KEYS_HEADERS_NULLS, "records")
    return "null key, tombstone, empty key/value, repeated headers"


def timestamps_create_time(ctx):
    prod = producer(ctx)
    send_all(prod, ctx, [{"value": b"t%d" % i, "timestamp_ms": c.BASE_TS + i, "partition": 0} for i in range(c.CREATE_TIME_COUNT)])
    prod.close()
    records = read_partition(ctx, c.CREATE_TIME_COUNT)
    c.expect_equal([(r.timestamp, r.timestamp_type) for r in records],
                   [(c.BASE_TS + i, CREATE_TIME) for i in range(c.CREATE_TIME_COUNT)], "timestamps, types")
    return "timestamps and CreateTime type"


def timestamps_log_append_time(ctx):
    started = time.time() * 1000
    prod = producer(ctx)
    metadata = send_all(prod, ctx, [{"value": b"t%d" % i, "timestamp_ms": c.BASE_TS, "partition": 0} for i in range(c.LOG_APPEND_TIME_COUNT)])
    prod.close()
    records = read_partition(ctx, c.LOG_APPEND_TIME_COUNT)
    ended = time.time() * 1000
    for record in records:
        c.expect(started - c.SLACK_MS <= record.timestamp <= ended + c.SLACK_MS,
                 f"timestamp {record.timestamp} outside the wall-clock window [{started:.0f}, {ended:.0f}]")
        c.expect_equal(record.timestamp_type, LOG_APPEND_TIME, "timestamp type")
    # The produce response carries the broker's append time too (log_append_time_ms).
    stamped = [m.timestamp for m in metadata]
    c.expect(all(started - c.SLACK_MS <= t <= ended + c.SLACK_MS for t in stamped), f"produce metadata timestamps {stamped}")
    return "broker append time, LogAppendTime type, also in the produce response"


def large_record(ctx):
    value = c.large_value()
    prod = producer(ctx, max_request_size=c.LARGE_MAX_MESSAGE_BYTES, compression_type=None)
    send_all(prod, ctx, [{"key": b"large", "value": value, "partition": 0}])
    prod.close()
    records = read_partition(ctx, 1, max_partition_fetch_bytes=c.LARGE_MAX_MESSAGE_BYTES, fetch_max_bytes=2 * c.LARGE_MAX_MESSAGE_BYTES)
    c.expect(records[0].value == value, f"value of {len(records[0].value)} bytes differs from the {len(value)} produced")
    return f"{len(value)} bytes"


def idempotent_producer(ctx):
    # enable_idempotence is kafka-python's default (True); no setting here on purpose.
    prod = producer(ctx)
    c.expect(prod.config["enable_idempotence"], "the default producer is not idempotent")
    send_all(prod, ctx, [{"value": b"i%d" % i, "partition": 0} for i in range(c.IDEMPOTENT_COUNT)])
    prod.close()
    records = read_partition(ctx, c.IDEMPOTENT_COUNT)
    c.expect_equal([r.value for r in records], [b"i%d" % i for i in range(c.IDEMPOTENT_COUNT)], "values")
    return f"{c.IDEMPOTENT_COUNT} records once each (idempotence on by default)"


def group_member(ctx):
    return KafkaConsumer(ctx.topic, bootstrap_servers=ctx.bootstrap, group_id=ctx.group, enable_auto_commit=False,
                         auto_offset_reset="earliest", session_timeout_ms=10_000, heartbeat_interval_ms=500,
                         client_id="compat-kafka-python")


def group_commit_resume(ctx):
    prod = producer(ctx)
    send_all(prod, ctx, [{"value": value, "partition": p} for p, value in c.group_first_records()])
    members = [group_member(ctx), group_member(ctx)]
    seen = [[], []]
    deadline = time.monotonic() + 45
    while time.monotonic() < deadline:
        for index, member in enumerate(members):
            for batch in member.poll(timeout_ms=1000).values():
                seen[index].extend(r.value for r in batch)
        assignments = [member.assignment() for member in members]
        # Done when the group is settled and each member has read its partitions to the end, so that its
        # commit covers them (records read before a rebalance may be read again by the new owner).
        if all(assignments) and len(assignments[0] | assignments[1]) == c.GROUP_PARTITIONS and all(
                member.position(tp) == c.GROUP_FIRST_PER_PARTITION for member in members for tp in member.assignment()):
            break
    assignments = [sorted(tp.partition for tp in member.assignment()) for member in members]
    c.expect(all(assignments), f"both members own partitions: {assignments}")
    c.expect_equal(sorted(assignments[0] + assignments[1]), list(range(c.GROUP_PARTITIONS)), "partitions owned once each")
    c.expect_equal(sorted(set(seen[0] + seen[1])), sorted(v for _, v in c.group_first_records()), "records read by the two members")
    for member in members:
        member.commit()
    for member in members:
        member.close()
    send_all(prod, ctx, [{"value": value, "partition": p} for p, value in c.group_second_records()])
    prod.close()
    resumed = group_member(ctx)
    got = []
    deadline = time.monotonic() + 30
    while len(got) < c.GROUP_SECOND_TOTAL and time.monotonic() < deadline:
        for batch in resumed.poll(timeout_ms=300).values():
            got.extend(r.value for r in batch)
    # A little longer, to see a record read twice if the commits were lost.
    for batch in resumed.poll(timeout_ms=500).values():
        got.extend(r.value for r in batch)
    resumed.close()
    c.expect_equal(sorted(got), sorted(v for _, v in c.group_second_records()), "records read after resuming")
    return f"members owned {assignments[0]} and {assignments[1]}; resumed at the commits"


def consume_from_timestamp(ctx):
    prod = producer(ctx)
    send_all(prod, ctx, [{"value": b"t%d" % i, "timestamp_ms": c.from_ts_timestamp(i), "partition": 0} for i in range(c.FROM_TS_COUNT)])
    prod.close()
    reader = consumer(ctx)
    tp = TopicPartition(ctx.topic, 0)
    found = reader.offsets_for_times({tp: c.FROM_TS_LOOKUP})[tp]
    reader.close()
    c.expect(found is not None, "offsets_for_times found nothing")
    c.expect_equal(found.offset, c.FROM_TS_EXPECTED_OFFSET, "offset for the timestamp")
    c.expect_equal(found.timestamp, c.from_ts_timestamp(c.FROM_TS_EXPECTED_OFFSET), "timestamp of that offset")
    records = read_partition(ctx, c.FROM_TS_COUNT - found.offset, start=found.offset)
    c.expect_equal([r.value for r in records], [b"t%d" % i for i in range(found.offset, c.FROM_TS_COUNT)], "records from it")
    return f"offsets_for_times -> {found.offset}"


def secure_config(ctx):
    return {
        "bootstrap_servers": ctx.secure_bootstrap,
        "security_protocol": "SASL_SSL",
        "ssl_cafile": ctx.ca_file,
        "sasl_mechanism": ctx.sasl_mechanism,
        "sasl_plain_username": ctx.sasl_username,
        "sasl_plain_password": ctx.sasl_password,
    }


def sasl_scram_tls(ctx):
    prod = producer(ctx, **secure_config(ctx))
    send_all(prod, ctx, [{"key": c.secure_key(i), "value": c.secure_value(i), "partition": 0} for i in range(c.SECURE_COUNT)])
    prod.close()
    records = read_partition(ctx, c.SECURE_COUNT, **secure_config(ctx))
    c.expect_equal([(r.key, r.value) for r in records], [(c.secure_key(i), c.secure_value(i)) for i in range(c.SECURE_COUNT)], "records read back over SASL_SSL")
    return f"{ctx.sasl_mechanism} over SASL_SSL: {c.SECURE_COUNT} records"


def acl_denied(ctx):
    refused = None
    prod = None
    try:
        prod = producer(ctx, **secure_config(ctx), max_block_ms=15000)
        prod.send(ctx.topic, value=c.ACL_DENIED_VALUE, partition=0).get(timeout=30)
    except Exception as error:  # the error the client raises is what is measured
        refused = error
    finally:
        if prod is not None:
            prod.close(timeout=5)
    c.expect(refused is not None, "the produce succeeded without WRITE on the topic")
    # The producer is idempotent by default: without WRITE on any topic its InitProducerId is refused
    # first, with CLUSTER_AUTHORIZATION_FAILED (as Kafka answers), which kafka-python wraps in a KafkaError.
    c.expect("AuthorizationFailed" in f"{type(refused).__name__} {refused}", f"the produce failed, but not with an authorization error: {type(refused).__name__}: {refused}")
    records = read_partition(ctx, c.ACL_READABLE_COUNT, **secure_config(ctx))
    c.expect_equal([(r.key, r.value) for r in records], [(c.acl_readable_key(i), c.acl_readable_value(i)) for i in range(c.ACL_READABLE_COUNT)], "records read with READ only")
    lister = consumer(ctx, **secure_config(ctx))
    topics = lister.topics()
    lister.close()
    c.expect(ctx.topic in topics, f"the readable topic is missing from the metadata: {sorted(topics)}")
    c.expect(ctx.hidden_topic not in topics, f"{ctx.hidden_topic} is listed though the user may not describe it")
    return f"produce refused with {type(refused).__name__}: {refused}; read {c.ACL_READABLE_COUNT} records; metadata lists {len(topics)} topic(s), not the hidden one"


def compacted_topic(ctx):
    reader = consumer(ctx)
    tp = TopicPartition(ctx.topic, 0)
    reader.assign([tp])
    reader.seek_to_beginning(tp)
    records = []
    deadline = time.monotonic() + 30
    while (not records or records[-1][0] < c.COMPACTED_COUNT - 1) and time.monotonic() < deadline:
        for batch in reader.poll(timeout_ms=500).values():
            records.extend((r.offset, r.key, r.value) for r in batch)
    reader.close()
    problem = c.compacted_problem(records)
    c.expect(problem is None, problem)
    refused = None
    prod = producer(ctx, retries=0)
    try:
        prod.send(ctx.topic, value=c.COMPACTED_KEYLESS_VALUE, partition=0).get(timeout=30)
    except Exception as error:  # the error the client raises is what is measured
        refused = error
    finally:
        prod.close(timeout=5)
    c.expect(refused is not None, "a record without a key was accepted by the compacted topic")
    c.expect("InvalidRecord" in f"{type(refused).__name__} {refused}", f"the keyless produce failed, but not with INVALID_RECORD: {type(refused).__name__}: {refused}")
    return f"read {len(records)} of {c.COMPACTED_COUNT} records: the latest per key at its offset, tombstone None; keyless record refused with {type(refused).__name__}"


def transactions_read_committed(ctx):
    prod = producer(ctx, transactional_id=f"{ctx.topic}-tx", enable_idempotence=True)
    prod.init_transactions()
    for values, commit in [
        ([c.txn_committed_value(i) for i in range(c.TXN_COMMITTED_FIRST)], True),
        ([c.txn_aborted_value(i) for i in range(c.TXN_ABORTED)], False),
        ([c.txn_committed_value(c.TXN_COMMITTED_FIRST + i) for i in range(c.TXN_COMMITTED_SECOND)], True),
    ]:
        prod.begin_transaction()
        send_all(prod, ctx, [{"value": value, "partition": 0} for value in values])
        if commit:
            prod.commit_transaction()
        else:
            prod.abort_transaction()
    prod.close()
    committed = c.TXN_COMMITTED_FIRST + c.TXN_COMMITTED_SECOND
    records = read_partition(ctx, committed, isolation_level="read_committed")
    c.expect_equal([r.value for r in records], [c.txn_committed_value(i) for i in range(committed)], "values read_committed")
    return f"{committed} committed records read back, the {c.TXN_ABORTED} aborted ones skipped (transactional_id, isolation_level=read_committed)"

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
    "consume-from-timestamp": consume_from_timestamp,
})
