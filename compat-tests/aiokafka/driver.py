"""aiokafka's side of the compat scenarios (see compat-tests/README.md): one scenario per run."""
import asyncio
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib", "python"))

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition  # noqa: E402
from aiokafka.admin import AIOKafkaAdminClient, NewTopic  # noqa: E402
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType  # noqa: E402
from aiokafka.helpers import create_ssl_context  # noqa: E402

import compat_driver as c  # noqa: E402

CREATE_TIME, LOG_APPEND_TIME = 0, 1


async def producer(ctx, **config):
    settings = {"bootstrap_servers": ctx.bootstrap, "acks": "all", "linger_ms": 200, "client_id": "compat-aiokafka"}
    settings.update(config)
    prod = AIOKafkaProducer(**settings)
    await prod.start()
    return prod


async def send_all(prod, ctx, messages):
    futures = [await prod.send(ctx.topic, **message) for message in messages]
    await prod.flush()
    return [await future for future in futures]


async def read_partition(ctx, count, start=None, timeout_s=30, **config):
    settings = {"bootstrap_servers": ctx.bootstrap, "group_id": None, "enable_auto_commit": False,
                "auto_offset_reset": "earliest", "client_id": "compat-aiokafka"}
    settings.update(config)
    reader = AIOKafkaConsumer(**settings)
    await reader.start()
    try:
        tp = TopicPartition(ctx.topic, 0)
        reader.assign([tp])
        if start is None:
            await reader.seek_to_beginning(tp)
        else:
            reader.seek(tp, start)
        records = []
        deadline = time.monotonic() + timeout_s
        while len(records) < count and time.monotonic() < deadline:
            for batch in (await reader.getmany(timeout_ms=500)).values():
                records.extend(batch)
        c.expect(len(records) >= count, f"read {len(records)} of {count} records within {timeout_s} s")
        return records
    finally:
        await reader.stop()


async def admin_client(ctx):
    admin = AIOKafkaAdminClient(bootstrap_servers=ctx.bootstrap, client_id="compat-aiokafka")
    await admin.start()
    return admin


def field(entry, *names):
    """Metadata objects are dicts or tuples depending on the response version; take the first name present."""
    for name in names:
        if isinstance(entry, dict) and name in entry:
            return entry[name]
    raise KeyError(f"none of {names} in {c.short(entry)}")


async def metadata(ctx):
    admin = await admin_client(ctx)
    try:
        cluster = await admin.describe_cluster()
        brokers = [(field(b, "host"), field(b, "port")) for b in cluster["brokers"]]
        c.expect_equal(brokers, [(ctx.host, ctx.port)], "brokers")
        broker_id = field(cluster["brokers"][0], "node_id", "nodeId")
        topics = await admin.describe_topics([ctx.topic])
        c.expect_equal(len(topics), 1, "topics described")
        partitions = field(topics[0], "partitions")
        c.expect_equal(sorted(field(p, "partition", "partition_index") for p in partitions), [0, 1, 2], "partitions")
        c.expect(all(field(p, "leader", "leader_id") == broker_id for p in partitions), "every partition led by the broker")
        return f"1 broker {ctx.bootstrap}, partitions 0-2"
    finally:
        await admin.close()


async def admin_create_describe_delete(ctx):
    admin = await admin_client(ctx)
    try:
        created = await admin.create_topics([NewTopic(ctx.topic, c.ADMIN_PARTITIONS, 1, topic_configs={c.ADMIN_CONFIG_NAME: c.ADMIN_CONFIG_VALUE})])
        errors = [t for t in created.topic_errors if t[1] != 0]
        c.expect(not errors, f"create_topics errors: {errors}")
        topics = await admin.describe_topics([ctx.topic])
        c.expect_equal(len(field(topics[0], "partitions")), c.ADMIN_PARTITIONS, "partitions after create")
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, ctx.topic, {c.ADMIN_CONFIG_NAME: None})])
        values = {}
        for response in responses:
            for resource in response.resources:
                for entry in resource[4]:
                    values[entry[0]] = entry[1]
        c.expect_equal(values.get(c.ADMIN_CONFIG_NAME), c.ADMIN_CONFIG_VALUE, c.ADMIN_CONFIG_NAME)
        await admin.delete_topics([ctx.topic])
        deadline = time.monotonic() + 10
        while ctx.topic in await admin.list_topics():
            c.expect(time.monotonic() < deadline, "the deleted topic is still listed after 10 s")
            await asyncio.sleep(0.1)
        return "created, described (partitions, config), deleted"
    finally:
        await admin.close()


def produce_consume(codec):
    async def scenario(ctx):
        config = {} if codec == "none" else {"compression_type": codec}
        prod = await producer(ctx, linger_ms=500, max_batch_size=1_048_576, **config)
        try:
            await send_all(prod, ctx, [{"key": c.codec_key(i), "value": c.codec_value(i), "partition": 0} for i in range(c.CODEC_COUNT)])
        finally:
            await prod.stop()
        records = await read_partition(ctx, c.CODEC_COUNT)
        for i, record in enumerate(records):
            c.expect_equal((record.offset, record.key, record.value), (i, c.codec_key(i), c.codec_value(i)), f"record {i}")
        return f"{c.CODEC_COUNT} records"
    return scenario


async def keys_headers_nulls(ctx):
    prod = await producer(ctx)
    try:
        await send_all(prod, ctx, [{"key": key, "value": value, "headers": headers, "partition": 0}
                                   for key, value, headers in c.KEYS_HEADERS_NULLS])
    finally:
        await prod.stop()
    records = await read_partition(ctx, len(c.KEYS_HEADERS_NULLS))
    got = [(r.key, r.value, [(name, value) for name, value in r.headers]) for r in records]
    c.expect_equal(got, c.KEYS_HEADERS_NULLS, "records")
    return "null key, tombstone, empty key/value, repeated headers"


async def timestamps_create_time(ctx):
    prod = await producer(ctx)
    try:
        await send_all(prod, ctx, [{"value": b"t%d" % i, "timestamp_ms": c.BASE_TS + i, "partition": 0} for i in range(c.CREATE_TIME_COUNT)])
    finally:
        await prod.stop()
    records = await read_partition(ctx, c.CREATE_TIME_COUNT)
    c.expect_equal([(r.timestamp, r.timestamp_type) for r in records],
                   [(c.BASE_TS + i, CREATE_TIME) for i in range(c.CREATE_TIME_COUNT)], "timestamps, types")
    return "timestamps and CreateTime type"


async def timestamps_log_append_time(ctx):
    started = time.time() * 1000
    prod = await producer(ctx)
    try:
        metadata = await send_all(prod, ctx, [{"value": b"t%d" % i, "timestamp_ms": c.BASE_TS, "partition": 0} for i in range(c.LOG_APPEND_TIME_COUNT)])
    finally:
        await prod.stop()
    records = await read_partition(ctx, c.LOG_APPEND_TIME_COUNT)
    ended = time.time() * 1000
    for record in records:
        c.expect(started - c.SLACK_MS <= record.timestamp <= ended + c.SLACK_MS,
                 f"timestamp {record.timestamp} outside the wall-clock window [{started:.0f}, {ended:.0f}]")
        c.expect_equal(record.timestamp_type, LOG_APPEND_TIME, "timestamp type")
    stamped = [(m.timestamp, m.timestamp_type) for m in metadata]
    c.expect(all(started - c.SLACK_MS <= t <= ended + c.SLACK_MS and kind == LOG_APPEND_TIME for t, kind in stamped),
             f"produce metadata (timestamp, type): {stamped}")
    return "broker append time, LogAppendTime type, also in the produce response"


async def large_record(ctx):
    value = c.large_value()
    prod = await producer(ctx, max_request_size=c.LARGE_MAX_MESSAGE_BYTES, max_batch_size=c.LARGE_MAX_MESSAGE_BYTES)
    try:
        await send_all(prod, ctx, [{"key": b"large", "value": value, "partition": 0}])
    finally:
        await prod.stop()
    records = await read_partition(ctx, 1, max_partition_fetch_bytes=c.LARGE_MAX_MESSAGE_BYTES, fetch_max_bytes=2 * c.LARGE_MAX_MESSAGE_BYTES)
    c.expect(records[0].value == value, f"value of {len(records[0].value)} bytes differs from the {len(value)} produced")
    return f"{len(value)} bytes"


async def idempotent_producer(ctx):
    # aiokafka's default is enable_idempotence=False; switch it on.
    prod = await producer(ctx, enable_idempotence=True)
    try:
        await send_all(prod, ctx, [{"value": b"i%d" % i, "partition": 0} for i in range(c.IDEMPOTENT_COUNT)])
    finally:
        await prod.stop()
    records = await read_partition(ctx, c.IDEMPOTENT_COUNT)
    c.expect_equal([r.value for r in records], [b"i%d" % i for i in range(c.IDEMPOTENT_COUNT)], "values")
    return f"{c.IDEMPOTENT_COUNT} records once each (enable_idempotence=True; off by default)"


async def group_member(ctx):
    member = AIOKafkaConsumer(ctx.topic, bootstrap_servers=ctx.bootstrap, group_id=ctx.group, enable_auto_commit=False,
                              auto_offset_reset="earliest", session_timeout_ms=10_000, heartbeat_interval_ms=500,
                              client_id="compat-aiokafka")
    await member.start()
    return member


async def group_commit_resume(ctx):
    prod = await producer(ctx)
    try:
        await send_all(prod, ctx, [{"value": value, "partition": p} for p, value in c.group_first_records()])
        members = [await group_member(ctx), await group_member(ctx)]
        seen = [[], []]
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            for index, member in enumerate(members):
                for batch in (await member.getmany(timeout_ms=200)).values():
                    seen[index].extend(r.value for r in batch)
            assignments = [member.assignment() for member in members]
            # Done when the group is settled and each member has read its partitions to the end, so that
            # its commit covers them (records read before a rebalance may be read again by the new owner).
            if all(assignments) and len(assignments[0] | assignments[1]) == c.GROUP_PARTITIONS and all(
                    [await member.position(tp) == c.GROUP_FIRST_PER_PARTITION for member in members for tp in member.assignment()]):
                break
        assignments = [sorted(tp.partition for tp in member.assignment()) for member in members]
        c.expect(all(assignments), f"both members own partitions: {assignments}")
        c.expect_equal(sorted(assignments[0] + assignments[1]), list(range(c.GROUP_PARTITIONS)), "partitions owned once each")
        c.expect_equal(sorted(set(seen[0] + seen[1])), sorted(v for _, v in c.group_first_records()), "records read by the two members")
        for member in members:
            await member.commit()
        for member in members:
            await member.stop()
        await send_all(prod, ctx, [{"value": value, "partition": p} for p, value in c.group_second_records()])
    finally:
        await prod.stop()
    resumed = await group_member(ctx)
    got = []
    try:
        deadline = time.monotonic() + 30
        while len(got) < c.GROUP_SECOND_TOTAL and time.monotonic() < deadline:
            for batch in (await resumed.getmany(timeout_ms=300)).values():
                got.extend(r.value for r in batch)
        for batch in (await resumed.getmany(timeout_ms=500)).values():
            got.extend(r.value for r in batch)
    finally:
        await resumed.stop()
    c.expect_equal(sorted(got), sorted(v for _, v in c.group_second_records()), "records read after resuming")
    return f"members owned {assignments[0]} and {assignments[1]}; resumed at the commits"


async def consume_from_timestamp(ctx):
    prod = await producer(ctx)
    try:
        await send_all(prod, ctx, [{"value": b"t%d" % i, "timestamp_ms": c.from_ts_timestamp(i), "partition": 0} for i in range(c.FROM_TS_COUNT)])
    finally:
        await prod.stop()
    reader = AIOKafkaConsumer(bootstrap_servers=ctx.bootstrap, group_id=None, client_id="compat-aiokafka")
    await reader.start()
    try:
        tp = TopicPartition(ctx.topic, 0)
        found = (await reader.offsets_for_times({tp: c.FROM_TS_LOOKUP}))[tp]
    finally:
        await reader.stop()
    c.expect(found is not None, "offsets_for_times found nothing")
    c.expect_equal(found.offset, c.FROM_TS_EXPECTED_OFFSET, "offset for the timestamp")
    c.expect_equal(found.timestamp, c.from_ts_timestamp(c.FROM_TS_EXPECTED_OFFSET), "timestamp of that offset")
    records = await read_partition(ctx, c.FROM_TS_COUNT - found.offset, start=found.offset)
    c.expect_equal([r.value for r in records], [b"t%d" % i for i in range(found.offset, c.FROM_TS_COUNT)], "records from it")
    return f"offsets_for_times -> {found.offset}"


def secure_config(ctx):
    return {
        "bootstrap_servers": ctx.secure_bootstrap,
        "security_protocol": "SASL_SSL",
        "ssl_context": create_ssl_context(cafile=ctx.ca_file),
        "sasl_mechanism": ctx.sasl_mechanism,
        "sasl_plain_username": ctx.sasl_username,
        "sasl_plain_password": ctx.sasl_password,
    }


async def sasl_scram_tls(ctx):
    prod = await producer(ctx, **secure_config(ctx))
    try:
        await send_all(prod, ctx, [{"key": c.secure_key(i), "value": c.secure_value(i), "partition": 0} for i in range(c.SECURE_COUNT)])
    finally:
        await prod.stop()
    records = await read_partition(ctx, c.SECURE_COUNT, **secure_config(ctx))
    c.expect_equal([(r.key, r.value) for r in records], [(c.secure_key(i), c.secure_value(i)) for i in range(c.SECURE_COUNT)], "records read back over SASL_SSL")
    return f"{ctx.sasl_mechanism} over SASL_SSL: {c.SECURE_COUNT} records"


async def acl_denied(ctx):
    refused = None
    prod = None
    try:
        prod = await producer(ctx, **secure_config(ctx), request_timeout_ms=15000)
        await asyncio.wait_for(await prod.send(ctx.topic, value=c.ACL_DENIED_VALUE, partition=0), 30)
    except Exception as error:  # the error the client raises is what is measured
        refused = error
    finally:
        if prod is not None:
            await prod.stop()
    c.expect(refused is not None, "the produce succeeded without WRITE on the topic")
    c.expect("Authorization" in type(refused).__name__, f"the produce failed, but not with an authorization error: {type(refused).__name__}: {refused}")
    records = await read_partition(ctx, c.ACL_READABLE_COUNT, **secure_config(ctx))
    c.expect_equal([(r.key, r.value) for r in records], [(c.acl_readable_key(i), c.acl_readable_value(i)) for i in range(c.ACL_READABLE_COUNT)], "records read with READ only")
    lister = AIOKafkaConsumer(client_id="compat-aiokafka", **secure_config(ctx))
    await lister.start()
    try:
        topics = await lister.topics()
    finally:
        await lister.stop()
    c.expect(ctx.topic in topics, f"the readable topic is missing from the metadata: {sorted(topics)}")
    c.expect(ctx.hidden_topic not in topics, f"{ctx.hidden_topic} is listed though the user may not describe it")
    return f"produce refused with {type(refused).__name__}; read {c.ACL_READABLE_COUNT} records; metadata lists {len(topics)} topic(s), not the hidden one"


async def compacted_topic(ctx):
    reader = AIOKafkaConsumer(bootstrap_servers=ctx.bootstrap, group_id=None, enable_auto_commit=False,
                              auto_offset_reset="earliest", client_id="compat-aiokafka")
    await reader.start()
    records = []
    try:
        tp = TopicPartition(ctx.topic, 0)
        reader.assign([tp])
        await reader.seek_to_beginning(tp)
        deadline = time.monotonic() + 30
        while (not records or records[-1][0] < c.COMPACTED_COUNT - 1) and time.monotonic() < deadline:
            for batch in (await reader.getmany(timeout_ms=500)).values():
                records.extend((r.offset, r.key, r.value) for r in batch)
    finally:
        await reader.stop()
    problem = c.compacted_problem(records)
    c.expect(problem is None, problem)
    refused = None
    prod = await producer(ctx, request_timeout_ms=15000)
    try:
        await asyncio.wait_for(await prod.send(ctx.topic, value=c.COMPACTED_KEYLESS_VALUE, partition=0), 30)
    except Exception as error:  # the error the client raises is what is measured
        refused = error
    finally:
        await prod.stop()
    c.expect(refused is not None, "a record without a key was accepted by the compacted topic")
    # aiokafka's error table has no class for INVALID_RECORD (87): errors.for_code(87) is UnknownError
    # (FINDINGS.md); the broker-side check confirms nothing was stored.
    c.expect(type(refused).__name__ in ("InvalidRecordError", "UnknownError"), f"the keyless produce failed, but not with INVALID_RECORD: {type(refused).__name__}: {refused}")
    return f"read {len(records)} of {c.COMPACTED_COUNT} records: the latest per key at its offset, tombstone None; keyless record refused ({type(refused).__name__}: aiokafka has no class for error 87)"


async def transactions_read_committed(ctx):
    prod = await producer(ctx, transactional_id=f"{ctx.topic}-tx", enable_idempotence=True)
    try:
        for values, commit in [
            ([c.txn_committed_value(i) for i in range(c.TXN_COMMITTED_FIRST)], True),
            ([c.txn_aborted_value(i) for i in range(c.TXN_ABORTED)], False),
            ([c.txn_committed_value(c.TXN_COMMITTED_FIRST + i) for i in range(c.TXN_COMMITTED_SECOND)], True),
        ]:
            await prod.begin_transaction()
            await send_all(prod, ctx, [{"value": value, "partition": 0} for value in values])
            if commit:
                await prod.commit_transaction()
            else:
                await prod.abort_transaction()
    finally:
        await prod.stop()
    committed = c.TXN_COMMITTED_FIRST + c.TXN_COMMITTED_SECOND
    records = await read_partition(ctx, committed, isolation_level="read_committed")
    c.expect_equal([r.value for r in records], [c.txn_committed_value(i) for i in range(committed)], "values read_committed")
    return f"{committed} committed records read back, the {c.TXN_ABORTED} aborted ones skipped (transactional_id, isolation_level=read_committed)"


def sync(coroutine_function):
    return lambda ctx: asyncio.run(coroutine_function(ctx))


c.run({name: sync(function) for name, function in {
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
    "sasl-scram-tls": sasl_scram_tls,
    "acl-denied": acl_denied,
    "compacted-topic": compacted_topic,
    "transactions-read-committed": transactions_read_committed,
}.items()})
