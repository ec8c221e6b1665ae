"""kafka-python's KafkaAdminClient.alter_configs against a topic and the broker, through both APIs it
can use (AlterConfigs, the whole-set one older kafka-python releases send, and IncrementalAlterConfigs),
for test/e2e/kafka-tools.test.ts: prints one JSON line per resource answer, then the topic's modified
configs as describe_configs reads them back."""
import argparse
import json

from kafka import KafkaAdminClient
from kafka.admin import ConfigResource, ConfigResourceType

parser = argparse.ArgumentParser()
parser.add_argument("--bootstrap", required=True)
parser.add_argument("--topic", required=True)
args = parser.parse_args()

admin = KafkaAdminClient(bootstrap_servers=args.bootstrap, client_id="kafka-python-alter-configs")
for incremental in (False, True):
    changes = [
        ConfigResource(ConfigResourceType.TOPIC, args.topic, configs={"retention.ms": "7200000", "max.message.bytes": "500000"}),
        ConfigResource(ConfigResourceType.TOPIC, args.topic, configs={"preallocate": "true"}),
        ConfigResource(ConfigResourceType.BROKER, "0", configs={"num.partitions": "7"}),
    ]
    for resource in changes:
        # raise_on_unknown=False: the broker, not the client's list of dynamic configs, decides.
        answer = admin.alter_configs([resource], incremental=incremental, raise_on_unknown=False)
        for resource_type, by_name in answer.items():
            for name, outcome in by_name.items():
                print(json.dumps({"incremental": incremental, "type": str(resource_type), "resource": name, "outcome": type(outcome).__name__, "message": str(outcome)}))
described = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, args.topic)])
print(json.dumps({"described": described}, default=str))
admin.close()
