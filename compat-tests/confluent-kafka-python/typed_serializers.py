"""Confluent's serializers producing into Zombi's typed tables (zombi.iceberg.mode), for test/e2e/typed-serializers.test.ts.

    typed_serializers.py produce --bootstrap H:P --registry URL --topic T --format avro|json|protobuf --phase 1|2
        Phase 1: the records of schema version 1 through the format's serializer (auto.register.schemas),
        then undecodable records (raw bytes without the wire format, an unknown schema id, a truncated body).
        Phase 2: the records of version 2 (a compatible evolution: a new optional field; Avro also widens
        int->long and float->double), then an incompatible version 3 the registry must refuse.
        One JSON line per record ({"type": "produced" | "bad", "offset", "id", "data" base64}) and one for the refusal.
    typed_serializers.py plain --bootstrap H:P --registry URL --topic T --format avro-latest|json
        Registers the value subject's schemas with SchemaRegistryClient and produces values without a
        prefix: Avro bytes of the latest version (fastavro's schemaless writer), or JSON text.
    typed_serializers.py consume --bootstrap H:P --registry URL --topic T --format F --count N
        Reads N records from offset 0 through the format's deserializer (a fresh client); a record it
        cannot read is reported with its bytes and the exception's class.

Values cover nested records/messages/objects, lists, maps, optional fields and the format's logical
types (Avro: decimal, date, timestamp-micros; JSON Schema: date, date-time; Protobuf: Timestamp).
The Protobuf classes are built at run time from FileDescriptorProtos, as protoc's _pb2 modules would.
"""
import argparse
import base64
import datetime
import decimal
import io
import json
import struct

import fastavro
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.error import ValueSerializationError
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool, timestamp_pb2
from google.protobuf.json_format import MessageToDict
from google.protobuf.message_factory import GetMessageClass

from common import emit, fail

UTC = datetime.timezone.utc


def avro_schema(version):
    """shop.Order: v2 widens customer.age int->long and score float->double and adds coupon; v3 adds region without a default."""
    age = "int" if version == 1 else "long"
    score = "float" if version == 1 else "double"
    fields = [
        {"name": "id", "type": "string"},
        {"name": "customer", "type": {"type": "record", "name": "Customer", "fields": [{"name": "name", "type": "string"}, {"name": "age", "type": age}]}},
        {"name": "amount", "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-micros"}},
        {"name": "items", "type": {"type": "array", "items": "string"}},
        {"name": "attrs", "type": {"type": "map", "values": "long"}},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "score", "type": score},
    ]
    if version >= 2:
        fields.append({"name": "coupon", "type": ["null", "string"], "default": None})
    if version >= 3:
        fields.append({"name": "region", "type": "string"})
    return {"type": "record", "name": "Order", "namespace": "shop", "fields": fields}


AVRO_VALUES = {
    1: [
        {"id": "a1", "customer": {"name": "ada", "age": 31}, "amount": decimal.Decimal("12.34"), "day": datetime.date(2026, 1, 2),
         "at": datetime.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), "items": ["pen", "ink"], "attrs": {"qty": 2}, "note": "first", "score": 1.5},
        {"id": "a2", "customer": {"name": "bob", "age": 42}, "amount": decimal.Decimal("-0.05"), "day": datetime.date(1969, 12, 31),
         "at": datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=UTC), "items": [], "attrs": {}, "note": None, "score": -2.25},
    ],
    2: [
        {"id": "a3", "customer": {"name": "cy", "age": 5_000_000_000}, "amount": decimal.Decimal("9999999.99"), "day": datetime.date(2026, 12, 6),
         "at": datetime.datetime(2026, 12, 6, 0, 0, 0, 1, tzinfo=UTC), "items": ["x"], "attrs": {"big": 2**53 + 1, "neg": -7}, "note": None,
         "score": 0.1, "coupon": "SAVE10"},
        {"id": "a4", "customer": {"name": "di", "age": 77}, "amount": decimal.Decimal("0.00"), "day": datetime.date(2000, 2, 29),
         "at": datetime.datetime(2000, 2, 29, 12, 0, tzinfo=UTC), "items": ["y", "z"], "attrs": {"w": 1}, "note": "last", "score": 3.0, "coupon": None},
    ],
    3: [{"id": "a5", "customer": {"name": "ed", "age": 1}, "amount": decimal.Decimal("1.00"), "day": datetime.date(2026, 1, 1),
         "at": datetime.datetime(2026, 1, 1, tzinfo=UTC), "items": [], "attrs": {}, "note": None, "score": 1.0, "coupon": None, "region": "eu"}],
}


def json_schema(version):
    """Order: v2 adds the optional property coupon to a closed content model; v3 requires a new property."""
    properties = {
        "id": {"type": "string"},
        "customer": {"type": "object", "additionalProperties": False, "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "required": ["name", "age"]},
        "amount": {"type": "number"},
        "day": {"type": "string", "format": "date"},
        "at": {"type": "string", "format": "date-time"},
        "items": {"type": "array", "items": {"type": "string"}},
        "attrs": {"type": "object", "additionalProperties": {"type": "integer"}},
        "note": {"type": ["string", "null"]},
    }
    required = ["id", "customer", "amount", "day", "at", "items", "attrs"]
    if version >= 2:
        properties["coupon"] = {"type": "string"}
    if version >= 3:
        properties["region"] = {"type": "string"}
        required.append("region")
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": "Order", "type": "object", "additionalProperties": False,
            "properties": properties, "required": required}


JSON_VALUES = {
    1: [
        {"id": "j1", "customer": {"name": "ada", "age": 31}, "amount": 12.5, "day": "2026-01-02", "at": "2026-01-02T03:04:05.678901Z",
         "items": ["pen", "ink"], "attrs": {"qty": 2}, "note": "first"},
        {"id": "j2", "customer": {"name": "bob", "age": 42}, "amount": -0.25, "day": "1969-12-31", "at": "1999-12-31T23:59:59Z",
         "items": [], "attrs": {}, "note": None},
    ],
    2: [
        {"id": "j3", "customer": {"name": "cy", "age": 65}, "amount": 1e-3, "day": "2026-12-06", "at": "2026-12-06T01:00:00+01:00",
         "items": ["x"], "attrs": {"big": 2**53 + 1}, "coupon": "SAVE10"},
        {"id": "j4", "customer": {"name": "di", "age": 77}, "amount": 3, "day": "2000-02-29", "at": "2000-02-29T12:00:00.5Z",
         "items": ["y", "z"], "attrs": {"w": 1}, "note": "last"},
    ],
    3: [{"id": "j5", "customer": {"name": "ed", "age": 1}, "amount": 1, "day": "2026-01-01", "at": "2026-01-01T00:00:00Z",
         "items": [], "attrs": {}, "region": "eu"}],
}

F = descriptor_pb2.FieldDescriptorProto
ORDER_CLASSES = {}


def order_class(version):
    """shop.Order of a schema version, in a pool of its own: v2 adds field 7 (coupon), v3 turns cents (int64) into a string."""
    if version in ORDER_CLASSES:
        return ORDER_CLASSES[version]
    pool = descriptor_pool.DescriptorPool()
    timestamp_file = descriptor_pb2.FileDescriptorProto()
    timestamp_pb2.DESCRIPTOR.CopyToProto(timestamp_file)
    pool.Add(timestamp_file)
    file = descriptor_pb2.FileDescriptorProto(name="shop/order.proto", package="shop", syntax="proto3", dependency=["google/protobuf/timestamp.proto"])
    customer = file.message_type.add(name="Customer")
    customer.field.add(name="name", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    customer.field.add(name="age", number=2, type=F.TYPE_INT32, label=F.LABEL_OPTIONAL)
    order = file.message_type.add(name="Order")
    order.field.add(name="id", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    order.field.add(name="customer", number=2, type=F.TYPE_MESSAGE, type_name=".shop.Customer", label=F.LABEL_OPTIONAL)
    order.field.add(name="cents", number=3, type=F.TYPE_INT64 if version < 3 else F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    order.field.add(name="at", number=4, type=F.TYPE_MESSAGE, type_name=".google.protobuf.Timestamp", label=F.LABEL_OPTIONAL)
    order.field.add(name="items", number=5, type=F.TYPE_STRING, label=F.LABEL_REPEATED)
    entry = order.nested_type.add(name="AttrsEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    entry.field.add(name="value", number=2, type=F.TYPE_INT64, label=F.LABEL_OPTIONAL)
    order.field.add(name="attrs", number=6, type=F.TYPE_MESSAGE, type_name=".shop.Order.AttrsEntry", label=F.LABEL_REPEATED)
    if version >= 2:
        order.field.add(name="coupon", number=7, type=F.TYPE_STRING, label=F.LABEL_OPTIONAL)
    pool.Add(file)
    ORDER_CLASSES[version] = GetMessageClass(pool.FindMessageTypeByName("shop.Order"))
    return ORDER_CLASSES[version]


PROTOBUF_VALUES = {
    1: [
        {"id": "p1", "customer": {"name": "ada", "age": 31}, "cents": 1234, "at": (1767323045, 678901000), "items": ["pen", "ink"], "attrs": {"qty": 2}},
        {"id": "p2", "customer": {"name": "bob", "age": 42}, "cents": -5, "at": (946684799, 0), "items": [], "attrs": {}},
    ],
    2: [
        {"id": "p3", "customer": {"name": "cy", "age": 65}, "cents": 2**53 + 1, "at": (1796515200, 1000), "items": ["x"], "attrs": {"big": -(2**40)}, "coupon": "SAVE10"},
        {"id": "p4", "customer": {"name": "di", "age": 77}, "cents": 0, "at": (951825600, 0), "items": ["y", "z"], "attrs": {"w": 1}},
    ],
    3: [{"id": "p5", "customer": {"name": "ed", "age": 1}, "cents": "ten", "at": (0, 0), "items": [], "attrs": {}}],
}


def protobuf_message(version, value):
    message = order_class(version)()
    message.id = value["id"]
    message.customer.name = value["customer"]["name"]
    message.customer.age = value["customer"]["age"]
    message.cents = value["cents"]
    message.at.seconds, message.at.nanos = value["at"]
    message.items.extend(value["items"])
    for key, item in value["attrs"].items():
        message.attrs[key] = item
    if "coupon" in value:
        message.coupon = value["coupon"]
    return message


def protobuf_plain(message):
    """A shop.Order as plain values: int64 as int, the Timestamp as microseconds since the epoch, unset fields as proto3 reads them."""
    value = MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)
    value["cents"] = int(value["cents"])
    value["attrs"] = {key: int(item) for key, item in value["attrs"].items()}
    value["at"] = message.at.ToMicroseconds()
    return value


def serializer(fmt, client, version):
    conf = {"auto.register.schemas": True}
    if fmt == "avro":
        return AvroSerializer(client, json.dumps(avro_schema(version)), conf=conf)
    if fmt == "json":
        return JSONSerializer(json.dumps(json_schema(version)), client, conf=conf)
    return ProtobufSerializer(order_class(version), client, conf={**conf, "use.deprecated.format": False})


def values_of(fmt, version):
    return {"avro": AVRO_VALUES, "json": JSON_VALUES, "protobuf": PROTOBUF_VALUES}[fmt][version]


def as_message(fmt, version, value):
    return protobuf_message(version, value) if fmt == "protobuf" else value


def b64(data):
    return base64.b64encode(data).decode("ascii")


class Sender:
    """A producer that reports each record's offset (delivery reports, one record in flight at a time)."""

    def __init__(self, bootstrap):
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "enable.idempotence": True})

    def send(self, topic, data):
        delivered = []
        self.producer.produce(topic, value=data, partition=0, on_delivery=lambda error, message: delivered.append((error, message)))
        self.producer.flush(30)
        if not delivered or delivered[0][0] is not None:
            fail(f"not delivered: {delivered}")
        return delivered[0][1].offset()


def produce(args):
    client = SchemaRegistryClient({"url": args.registry})
    sender = Sender(args.bootstrap)
    context = SerializationContext(args.topic, MessageField.VALUE)
    version = args.phase
    serialize = serializer(args.format, client, version)
    last = None
    for value in values_of(args.format, version):
        message = as_message(args.format, version, value)
        data = serialize(message, context)
        last = data
        emit({"type": "produced", "version": version, "offset": sender.send(args.topic, data), "id": struct.unpack(">bI", data[:5])[1], "data": b64(data),
              "value": readable(protobuf_plain(message) if args.format == "protobuf" else value)})
    if version == 1:
        schema_id = struct.unpack(">bI", last[:5])[1]
        bad = [
            ("raw", b"not the wire format"),
            ("unknown-id", last[:1] + struct.pack(">I", schema_id + 1000) + last[5:]),
            # Cut inside the body: Avro and Protobuf run out of bytes, JSON is no longer a document.
            ("truncated", last[: 5 + (len(last) - 5) // 2]),
        ]
        for kind, data in bad:
            emit({"type": "bad", "kind": kind, "offset": sender.send(args.topic, data), "data": b64(data)})
        return
    try:
        serializer(args.format, client, 3)(as_message(args.format, 3, values_of(args.format, 3)[0]), context)
        emit({"type": "accepted", "version": 3})
    except ValueSerializationError as error:
        inner = getattr(error, "__cause__", None) or getattr(error, "__context__", None)
        emit({"type": "refused", "version": 3, "exception": type(error).__name__, "cause": type(inner).__name__ if inner else None,
              "http_status": getattr(inner, "http_status_code", None), "message": str(error)})
    except Exception as error:  # noqa: BLE001 - the class name is what the test checks
        emit({"type": "refused", "version": 3, "exception": type(error).__name__, "http_status": getattr(error, "http_status_code", None), "message": str(error)})


def plain(args):
    """Values without the wire-format prefix, decoded by the table with the subject's latest schema."""
    client = SchemaRegistryClient({"url": args.registry})
    sender = Sender(args.bootstrap)
    subject = f"{args.topic}-value"
    if args.format == "avro-latest":
        ids = [client.register_schema(subject, Schema(json.dumps(avro_schema(version)), "AVRO")) for version in (1, 2)]
        emit({"type": "registered", "ids": ids})
        parsed = fastavro.parse_schema(avro_schema(2))
        records = [value | {"coupon": value.get("coupon")} for value in AVRO_VALUES[1] + AVRO_VALUES[2]]
        for value in records:
            out = io.BytesIO()
            fastavro.schemaless_writer(out, parsed, value)
            emit({"type": "produced", "offset": sender.send(args.topic, out.getvalue()), "data": b64(out.getvalue())})
        data = out.getvalue()[: len(out.getvalue()) // 2]
        emit({"type": "bad", "kind": "truncated", "offset": sender.send(args.topic, data), "data": b64(data)})
        return
    ids = [client.register_schema(subject, Schema(json.dumps(json_schema(2)), "JSON"))]
    emit({"type": "registered", "ids": ids})
    for value in JSON_VALUES[1] + JSON_VALUES[2]:
        data = json.dumps(value).encode()
        emit({"type": "produced", "offset": sender.send(args.topic, data), "data": b64(data)})
    data = b"{not json"
    emit({"type": "bad", "kind": "not-json", "offset": sender.send(args.topic, data), "data": b64(data)})


def readable(value):
    """A deserialized value as JSON (decimals as text, dates ISO, datetimes as microseconds since the epoch)."""
    if isinstance(value, dict):
        return {key: readable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [readable(item) for item in value]
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        delta = value - datetime.datetime(1970, 1, 1, tzinfo=UTC)
        return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def consume(args):
    client = SchemaRegistryClient({"url": args.registry})
    if args.format == "avro":
        deserialize = AvroDeserializer(client)
    elif args.format == "json":
        deserialize = JSONDeserializer(None, schema_registry_client=client)
    else:
        deserialize = ProtobufDeserializer(order_class(2), {"use.deprecated.format": False}, client)
    consumer = Consumer({"bootstrap.servers": args.bootstrap, "group.id": f"{args.topic}-reader", "enable.auto.commit": False})
    consumer.assign([TopicPartition(args.topic, 0, 0)])
    context = SerializationContext(args.topic, MessageField.VALUE)
    read = 0
    try:
        while read < args.count:
            message = consumer.poll(10)
            if message is None:
                fail(f"only {read} of {args.count} records arrived")
            if message.error():
                fail(str(message.error()))
            try:
                value = deserialize(message.value(), context)
            except Exception as error:  # noqa: BLE001 - an undecodable record is reported, not fatal
                emit({"type": "undecodable", "offset": message.offset(), "exception": type(error).__name__, "data": b64(message.value())})
            else:
                if args.format == "protobuf":
                    value = protobuf_plain(value)
                emit({"type": "record", "offset": message.offset(), "schema_id": struct.unpack(">bI", message.value()[:5])[1], "value": readable(value),
                      "data": b64(message.value())})
            read += 1
    finally:
        consumer.close()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["produce", "plain", "consume"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--registry", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--format", choices=["avro", "json", "protobuf", "avro-latest"], required=True)
    parser.add_argument("--phase", type=int, choices=[1, 2], default=1)
    parser.add_argument("--count", type=int, default=0)
    args = parser.parse_args()
    {"produce": produce, "plain": plain, "consume": consume}[args.command](args)


if __name__ == "__main__":
    main()
