// server.properties of a one-node Apache Kafka in KRaft mode (broker and controller in one JVM), shared by the bench's
// side-by-side Kafka (bench/lib/kafka.ts) and the e2e launcher that runs tests against Kafka (test/support/apache-kafka-main.ts).

export interface OneNodeKafka {
  /** Address of the PLAINTEXT listener (advertised as is); the controller listens on 127.0.0.1. */
  host: string
  brokerPort: number
  controllerPort: number
  logDir: string
  /** Added last: they override the defaults here. */
  settings: Record<string, string>
}

export function oneNodeServerProperties({ host, brokerPort, controllerPort, logDir, settings }: OneNodeKafka): string {
  const properties: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    // A static quorum: the formatted log dir holds no controller endpoint, so one formatted dir serves every start
    // (and a restart may use other ports).
    'controller.quorum.voters': `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://${host}:${brokerPort},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${brokerPort}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': logDir,
    // One node: internal topics cannot have more replicas than that.
    'offsets.topic.replication.factor': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    // Zombi starts a group's first rebalance at once; so does this broker (waiting 3 s for other members would only
    // be timed as rebalance in a bench, and slow every group test).
    'group.initial.rebalance.delay.ms': '0',
    ...settings,
  }
  return Object.entries(properties).map(([key, value]) => `${key}=${value}\n`).join('')
}
