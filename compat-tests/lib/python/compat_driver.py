"""The Python side of the compat harness: scenario constants (the same bytes as
compat-tests/lib/scenarios.ts) and the driver protocol (see compat-tests/README.md).

A driver script calls run({scenario_name: function}); each function gets a Context, returns a
detail string to pass, raises Skip(reason) to skip, and raises anything else to fail. The result
is printed as the last stdout line: {"status": ..., "detail": ...}.
"""
import json
import os
import sys
import time
import traceback

SCENARIOS = [
    "metadata",
    "admin-create-describe-delete",
    "produce-consume-none",
    "produce-consume-gzip",
    "produce-consume-snappy",
    "produce-consume-lz4",
    "produce-consume-zstd",
    "keys-headers-nulls",
    "timestamps-create-time",
    "timestamps-log-append-time",
    "large-record-1mib",
    "idempotent-producer",
    "group-commit-resume",
    "consume-from-timestamp",
    "sasl-scram-tls",
    "acl-denied",
    "compacted-topic",
    "transactions-read-committed",
    "kip848-group",
]

CODEC_COUNT = 100
BASE_TS = 1_600_000_000_000
CREATE_TIME_COUNT = 3
LOG_APPEND_TIME_COUNT = 3
SLACK_MS = 1000
FROM_TS_COUNT = 10
FROM_TS_STEP_MS = 1000
FROM_TS_LOOKUP = BASE_TS + 4500
FROM_TS_EXPECTED_OFFSET = 5
LARGE_VALUE_BYTES = 1_048_576
LARGE_MAX_MESSAGE_BYTES = 2_097_152
IDEMPOTENT_COUNT = 100
GROUP_PARTITIONS = 4
GROUP_FIRST_PER_PARTITION = 10
GROUP_SECOND_TOTAL = 20
ADMIN_PARTITIONS = 3
ADMIN_CONFIG_NAME = "retention.ms"
ADMIN_CONFIG_VALUE = "3600000"
# transactions-read-committed: commit TXN_COMMITTED_FIRST, abort TXN_ABORTED, commit TXN_COMMITTED_SECOND.
TXN_COMMITTED_FIRST = 3
TXN_ABORTED = 2
TXN_COMMITTED_SECOND = 2


def txn_committed_value(index):
    return f"txn-committed-{index}".encode()


def txn_aborted_value(index):
    return f"txn-aborted-{index}".encode()

# keys-headers-nulls: (key, value, headers), in order.
KEYS_HEADERS_NULLS = [
    (b"k1", b"v1", [("h1", b"a"), ("h1", b"b"), ("h2", b"\x00\xff")]),
    (None, b"v2", []),
    (b"k3", None, []),
    (b"", b"", []),
]


def codec_key(index):
    return f"key-{index}".encode()


def codec_value(index):
    line = f"record {index} of the zombi compatibility harness; "
    text = line * (1024 // len(line) + 1)
    return text[:1024].encode()


def group_first_records():
    """(partition, value) of the records produced before the commit."""
    return [(p, f"first-{p}-{i}".encode()) for p in range(GROUP_PARTITIONS) for i in range(GROUP_FIRST_PER_PARTITION)]


def group_second_records():
    return [(n % GROUP_PARTITIONS, f"second-{n}".encode()) for n in range(GROUP_SECOND_TOTAL)]


# sasl-scram-tls: produced and consumed over the SASL_SSL listener.
SECURE_COUNT = 5


def secure_key(index):
    return f"secure-key-{index}".encode()


def secure_value(index):
    return f"secure value {index} over SASL_SSL with SCRAM".encode()


# acl-denied: written by the harness before the client runs; the client may read, not write.
ACL_READABLE_COUNT = 3
ACL_DENIED_VALUE = b"this write must be refused"


def acl_readable_key(index):
    return f"readable-key-{index}".encode()


def acl_readable_value(index):
    return f"readable value {index}".encode()


# compacted-topic: written by the harness (and cleaned) before the client runs; see scenarios.ts.
COMPACTED_COUNT = 200
COMPACTED_KEYLESS_VALUE = b"a record without a key on a compacted topic"


def compacted_key(offset):
    return f"compact-key-{offset % 10}".encode()


def compacted_value(offset):
    return None if offset % 9 == 4 else f"compact value {offset}".encode()


def compacted_problem(records):
    """Why records [(offset, key, value)] read from the beginning are not a compaction of the scenario's, or None."""
    previous = -1
    last_of_key = {}
    for offset, key, value in records:
        if offset <= previous:
            return f"offset {offset} after {previous}"
        previous = offset
        if offset >= COMPACTED_COUNT:
            return f"offset {offset} was never written"
        if key != compacted_key(offset):
            return f"key at offset {offset} is {key!r}"
        if value != compacted_value(offset):
            return f"value at offset {offset} is {value!r}"
        last_of_key[key] = offset
    if previous != COMPACTED_COUNT - 1:
        return f"read up to offset {previous}, not {COMPACTED_COUNT - 1}"
    for latest in range(COMPACTED_COUNT - 10, COMPACTED_COUNT):
        key = compacted_key(latest)
        if last_of_key.get(key) != latest:
            return f"the last record of {key!r} read is at {last_of_key.get(key)}, not its latest {latest}"
    if len(records) >= COMPACTED_COUNT:
        return f"all {len(records)} records read: nothing was compacted"
    return None


def from_ts_timestamp(index):
    return BASE_TS + FROM_TS_STEP_MS * index


def large_value():
    # Random-looking but reproducible bytes, so compression cannot hide the size.
    return os.urandom(LARGE_VALUE_BYTES)


class Skip(Exception):
    pass


class Context:
    def __init__(self):
        self.bootstrap = os.environ["COMPAT_BOOTSTRAP"]
        self.topic = os.environ["COMPAT_TOPIC"]
        self.group = os.environ["COMPAT_GROUP"]
        self.scenario = os.environ.get("COMPAT_SCENARIO", "")
        host, _, port = self.bootstrap.rpartition(":")
        self.host = host
        self.port = int(port)
        # sasl-scram-tls and acl-denied only: the SASL_SSL listener and the user to connect as.
        self.secure_bootstrap = os.environ.get("COMPAT_SECURE_BOOTSTRAP", "")
        self.ca_file = os.environ.get("COMPAT_CA_FILE", "")
        self.sasl_mechanism = os.environ.get("COMPAT_SASL_MECHANISM", "")
        self.sasl_username = os.environ.get("COMPAT_SASL_USERNAME", "")
        self.sasl_password = os.environ.get("COMPAT_SASL_PASSWORD", "")
        self.hidden_topic = os.environ.get("COMPAT_HIDDEN_TOPIC", "")

    def log(self, message):
        sys.stderr.write(f"{message}\n")
        sys.stderr.flush()


def expect(condition, message):
    if not condition:
        raise AssertionError(message)


def expect_equal(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: got {short(actual)}, expected {short(expected)}")


def short(value, limit=300):
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def wait_until(predicate, timeout_s, what, interval_s=0.1):
    deadline = time.monotonic() + timeout_s
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


def emit(status, detail):
    sys.stdout.write(json.dumps({"status": status, "detail": detail}) + "\n")
    sys.stdout.flush()


def run(handlers, skips=None):
    """Runs the scenario named by argv[1] (or $COMPAT_SCENARIO) and prints its result line."""
    scenario = sys.argv[1] if len(sys.argv) > 1 else os.environ.get("COMPAT_SCENARIO", "")
    if os.environ.get("COMPAT_DEBUG"):
        import logging
        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if scenario not in SCENARIOS:
        emit("fail", f"unknown scenario {scenario!r}")
        sys.exit(2)
    if skips and scenario in skips:
        emit("skip", skips[scenario])
        return
    handler = handlers.get(scenario)
    if handler is None:
        emit("fail", f"no handler for {scenario}")
        return
    try:
        detail = handler(Context())
        emit("pass", detail or "")
    except Skip as skip:
        emit("skip", str(skip))
    except Exception as error:  # the scenario's failure, reported as data
        traceback.print_exc(file=sys.stderr)
        emit("fail", f"{type(error).__name__}: {error}")
    sys.stdout.flush()
    sys.stderr.flush()
    # Client threads (kafka-python's sender, librdkafka's) must not hold the process open.
    os._exit(0)
