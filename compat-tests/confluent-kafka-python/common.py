"""Shared helpers of the confluent-kafka scripts: argument parsing and the JSON-lines record format.

Records travel between the TypeScript tests and these scripts as JSON lines in which every byte
string is base64 (or null for a Kafka null), so comparisons on the TypeScript side are byte-exact.
"""
import base64
import json
import sys


def b64(data):
    return None if data is None else base64.b64encode(data).decode("ascii")


def unb64(text):
    return None if text is None else base64.b64decode(text)


def emit(document):
    sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def fail(message, code=1):
    sys.stderr.write(message + "\n")
    sys.exit(code)


def log_to_stderr(config, debug):
    """librdkafka logs go to stderr (the tests show them on failure); debug contexts on request."""
    if debug:
        config["debug"] = debug
    return config
