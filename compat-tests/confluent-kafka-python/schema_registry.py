"""Confluent's schema registry client and serializers against Zombi's registry (/registry on its HTTP port).

    schema_registry.py produce  --bootstrap H:P --registry URL --topic T --format avro|json|protobuf
        Produces two records with schema version 1 and two with version 2 (a compatible evolution)
        through the format's serializer (auto-registering the schemas), then tries version 3 (an
        incompatible change) and reports the client's refusal. One JSON line per step.
    schema_registry.py consume  --bootstrap H:P --registry URL --topic T --format F --count N
        Reads N records from offset 0 through the format's deserializer (a new client: nothing cached)
        and prints each decoded value with the schema id of its wire-format prefix.
    schema_registry.py describe --registry URL --topic T
        What the registry holds for the topic's value subject, through SchemaRegistryClient.

The Protobuf messages are built at run time from FileDescriptorProtos (google.protobuf's descriptor_pb2
and message_factory), as protoc's generated _pb2 modules would define them.
"""
import argparse
import json
import struct

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.error import ValueSerializationError
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.json_format import MessageToDict
from google.protobuf.message_factory import GetMessageClass

from common import emit, fail

AVRO = [
    {"type": "record", "name": "User", "namespace": "com.example", "fields": [{"name": "name", "type": "string"}, {"name": "count", "type": "int"}]},
    # Version 2 adds a field with a default: BACKWARD compatible.
    {"type": "record", "name": "User", "namespace": "com.example", "fields": [
        {"name": "name", "type": "string"}, {"name": "count", "type": "long"}, {"name": "email", "type": ["null", "string"], "default": None}]},
    # Version 3 adds a field without a default: version 2 data cannot be read with it.
    {"type": "record", "name": "User", "namespace": "com.example", "fields": [
        {"name": "name", "type": "string"}, {"name": "count", "type": "long"}, {"name": "email", "type": ["null", "string"], "default": None},
        {"name": "country", "type": "string"}]},
]
AVRO_VALUES = [
    [{"name": "ada", "count": 1}, {"name": "bob", "count": 2}],
    [{"name": "cy", "count": 3, "email": "cy@example.com"}, {"name": "di", "count": 4, "email": None}],
    [{"name": "ed", "count": 5, "email": None, "country": "fr"}],
]

JSON = [
    {"$schema": "http://json-schema.org/draft-07/schema#", "title": "User", "type": "object", "additionalProperties": False,
     "properties": {"name": {"type": "string"}, "count": {"type": "integer"}}, "required": ["name"]},
    # Version 2 adds an optional property to a closed content model and widens count: compatible.
    {"$schema": "http://json-schema.org/draft-07/schema#", "title": "User", "type": "object", "additionalProperties": False,
     "properties": {"name": {"type": "string"}, "count": {"type": "number"}, "email": {"type": "string"}}, "required": ["name"]},
    # Version 3 requires a new property: version 2 documents lack it.
    {"$schema": "http://json-schema.org/draft-07/schema#", "title": "User", "type": "object", "additionalProperties": False,
     "properties": {"name": {"type": "string"}, "count": {"type": "number"}, "email": {"type": "string"}, "country": {"type": "string"}},
     "required": ["name", "country"]},
]
JSON_VALUES = [
    [{"name": "ada", "count": 1}, {"name": "bob"}],
    [{"name": "cy", "count": 3.5, "email": "cy@example.com"}, {"name": "di", "count": 4}],
    [{"name": "ed", "country": "fr"}],
]

F = descriptor_pb2.FieldDescriptorProto
PROTOBUF_FIELDS = [
    [("id", 1, F.TYPE_STRING), ("cents", 2, F.TYPE_INT64)],
    # Version 2 adds field 3: compatible both ways.
    [("id", 1, F.TYPE_STRING), ("cents", 2, F.TYPE_INT64), ("note", 3, F.TYPE_STRING)],
    # Version 3 reuses field number 2 with another wire type.
    [("id", 1, F.TYPE_STRING), ("cents", 2, F.TYPE_STRING), ("note", 3, F.TYPE_STRING)],
]
PROTOBUF_VALUES = [
    [{"id": "o1", "cents": 100}, {"id": "o2", "cents": 250}],
    [{"id": "o3", "cents": 999, "note": "gift"}, {"id": "o4", "cents": 1}],
    [{"id": "o5", "cents": "ten", "note": ""}],
]


ORDER_CLASSES = {}


def order_class(version):
    """shop.Order of a schema version, in a pool of its own (every version defines the same name)."""
    if version in ORDER_CLASSES:
        return ORDER_CLASSES[version]
    file = descriptor_pb2.FileDescriptorProto(name="shop/order.proto", package="shop", syntax="proto3")
    message = file.message_type.add(name="Order")
    for name, number, kind in PROTOBUF_FIELDS[version]:
        message.field.add(name=name, number=number, type=kind, label=F.LABEL_OPTIONAL)
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    ORDER_CLASSES[version] = GetMessageClass(pool.FindMessageTypeByName("shop.Order"))
    return ORDER_CLASSES[version]


def serializer(fmt, client, version):
    conf = {"auto.register.schemas": True}
    if fmt == "avro":
        return AvroSerializer(client, json.dumps(AVRO[version]), conf=conf)
    if fmt == "json":
        return JSONSerializer(json.dumps(JSON[version]), client, conf=conf)
    return ProtobufSerializer(order_class(version), client, conf={**conf, "use.deprecated.format": False})


def as_message(fmt, version, value):
    if fmt != "protobuf":
        return value
    return order_class(version)(**value)


def produce(args):
    client = SchemaRegistryClient({"url": args.registry})
    producer = Producer({"bootstrap.servers": args.bootstrap, "linger.ms": 0})
    context = SerializationContext(args.topic, MessageField.VALUE)
    values = {"avro": AVRO_VALUES, "json": JSON_VALUES, "protobuf": PROTOBUF_VALUES}[args.format]
    for version in (0, 1):
        serialize = serializer(args.format, client, version)
        for value in values[version]:
            data = serialize(as_message(args.format, version, value), context)
            schema_id = struct.unpack(">bI", data[:5])[1]
            producer.produce(args.topic, value=data)
            emit({"type": "produced", "version": version + 1, "id": schema_id})
        producer.flush(30)
    try:
        serializer(args.format, client, 2)(as_message(args.format, 2, values[2][0]), context)
        emit({"type": "accepted", "version": 3})
    except ValueSerializationError as error:
        cause = error.args[0] if error.args else error
        # The serializer wraps the registry's error; its status and code are what a client can act on.
        inner = cause if isinstance(cause, SchemaRegistryError) else getattr(error, "__cause__", None) or getattr(error, "__context__", None)
        emit({
            "type": "refused", "version": 3, "exception": type(error).__name__,
            "http_status": getattr(inner, "http_status_code", None), "error_code": getattr(inner, "error_code", None),
            "message": str(error),
        })
    except SchemaRegistryError as error:
        emit({"type": "refused", "version": 3, "exception": type(error).__name__, "http_status": error.http_status_code, "error_code": error.error_code, "message": error.error_message})
    if len(producer) != 0:
        fail("records still in flight after flush")


def consume(args):
    client = SchemaRegistryClient({"url": args.registry})
    if args.format == "avro":
        deserialize = AvroDeserializer(client)
    elif args.format == "json":
        deserialize = JSONDeserializer(None, schema_registry_client=client)
    else:
        deserialize = ProtobufDeserializer(order_class(1), {"use.deprecated.format": False}, client)
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
            value = deserialize(message.value(), context)
            if args.format == "protobuf":
                value = MessageToDict(value, preserving_proto_field_name=True)
            emit({"type": "record", "offset": message.offset(), "schema_id": struct.unpack(">bI", message.value()[:5])[1], "value": value})
            read += 1
    finally:
        consumer.close()


def describe(args):
    client = SchemaRegistryClient({"url": args.registry})
    subject = f"{args.topic}-value"
    versions = client.get_versions(subject)
    latest = client.get_latest_version(subject)
    emit({
        "type": "subject", "subject": subject, "versions": versions, "latest_id": latest.schema_id, "latest_version": latest.version,
        "schema_type": latest.schema.schema_type,
        "ids": [client.get_version(subject, version).schema_id for version in versions],
        "subjects": client.get_subjects(),
    })
    for version in versions:
        registered = client.get_version(subject, version)
        emit({"type": "schema", "version": version, "id": registered.schema_id, "schema": client.get_schema(registered.schema_id).schema_str})
    # The same schema again: its existing id, not a new one.
    again = client.register_schema(subject, Schema(latest.schema.schema_str, latest.schema.schema_type, latest.schema.references))
    emit({"type": "registered-again", "id": again})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["produce", "consume", "describe"])
    parser.add_argument("--bootstrap")
    parser.add_argument("--registry", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--format", choices=["avro", "json", "protobuf"], default="avro")
    parser.add_argument("--count", type=int, default=0)
    args = parser.parse_args()
    {"produce": produce, "consume": consume, "describe": describe}[args.command](args)


if __name__ == "__main__":
    main()
