// Creates a bench topic (one partition) before a measurement starts, so no client's time includes topic
// auto-creation: Kafka answers the first auto-creating Metadata with LEADER_NOT_AVAILABLE and librdkafka then
// waits for its next metadata refresh, which cost kcat about a second per produce.
import { Admin } from '@platformatic/kafka'

const waitForLeaderMs = 30_000

export async function createTopic(bootstrap: string, topic: string): Promise<void> {
  const admin = new Admin({ clientId: 'zombi-bench-admin', bootstrapBrokers: [bootstrap], timeout: 30_000, retries: 3 })
  try {
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 })
    const deadline = performance.now() + waitForLeaderMs
    for (;;) {
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true })
      const leader = metadata.topics.get(topic)?.partitions[0]?.leader
      if (leader !== undefined && leader >= 0) return
      if (performance.now() > deadline) throw new Error(`topic ${topic} has no leader ${waitForLeaderMs} ms after its creation`)
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  } finally {
    await admin.close()
  }
}
