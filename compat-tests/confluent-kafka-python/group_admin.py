"""Runs confluent-kafka AdminClient group operations against one group and reports each result.

--op list [--states STABLE,EMPTY]      ListGroups (with a state filter)
--op describe                          DescribeGroups: state, assignor, members and their partitions
--op offsets --partitions 0,1          OffsetFetch for those partitions of --topic
--op alter --partitions 0,1 --offset N OffsetCommit outside group management (the group must be empty)
--op delete                            DeleteGroups

Output: one JSON line {"op", ...result} or {"op", "error", "code"} when librdkafka reports an error.
"""
import argparse
import sys

from confluent_kafka import ConsumerGroupState, ConsumerGroupTopicPartitions, KafkaException, TopicPartition, version, libversion
from confluent_kafka.admin import AdminClient

from common import emit


def error_of(exception):
    error = exception.args[0] if exception.args else None
    if hasattr(error, "name"):
        return {"error": error.str(), "code": error.name()}
    return {"error": str(exception), "code": None}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--op", required=True, choices=["list", "describe", "offsets", "alter", "delete"])
    parser.add_argument("--topic")
    parser.add_argument("--partitions", default="")
    parser.add_argument("--offset", type=int, default=0)
    parser.add_argument("--states", default="")
    args = parser.parse_args()
    sys.stderr.write(f"confluent-kafka {version()}, librdkafka {libversion()[0]}\n")
    admin = AdminClient({"bootstrap.servers": args.bootstrap})
    partitions = [int(p) for p in args.partitions.split(",") if p != ""]
    try:
        if args.op == "list":
            states = {ConsumerGroupState[s] for s in args.states.split(",") if s != ""}
            result = admin.list_consumer_groups(states=states, request_timeout=30).result()
            emit({"op": "list", "groups": sorted([g.group_id, g.state.name, g.is_simple_consumer_group] for g in result.valid),
                  "errors": [str(e) for e in result.errors]})
        elif args.op == "describe":
            description = admin.describe_consumer_groups([args.group], request_timeout=30)[args.group].result()
            emit({"op": "describe", "state": description.state.name, "assignor": description.partition_assignor,
                  "simple": description.is_simple_consumer_group,
                  "members": sorted([m.client_id, m.host, sorted([tp.topic, tp.partition] for tp in m.assignment.topic_partitions)] for m in description.members)})
        elif args.op == "offsets":
            request = [ConsumerGroupTopicPartitions(args.group, [TopicPartition(args.topic, p) for p in partitions])]
            result = admin.list_consumer_group_offsets(request, request_timeout=30)[args.group].result()
            emit({"op": "offsets", "offsets": [[tp.partition, tp.offset] for tp in result.topic_partitions]})
        elif args.op == "alter":
            request = [ConsumerGroupTopicPartitions(args.group, [TopicPartition(args.topic, p, args.offset) for p in partitions])]
            result = admin.alter_consumer_group_offsets(request, request_timeout=30)[args.group].result()
            emit({"op": "alter", "offsets": [[tp.partition, tp.offset, tp.error.name() if tp.error else None] for tp in result.topic_partitions]})
        else:
            admin.delete_consumer_groups([args.group], request_timeout=30)[args.group].result()
            emit({"op": "delete", "deleted": True})
    except KafkaException as exception:
        emit({"op": args.op, **error_of(exception)})


if __name__ == "__main__":
    main()
