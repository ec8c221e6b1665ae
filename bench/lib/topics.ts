// Creates a bench topic (one partition) and waits until it serves, before a measurement starts, so no client's
// time includes topic creation: Kafka answers the first auto-creating Metadata with LEADER_NOT_AVAILABLE (librdkafka
// then waits for its next metadata refresh, about a second of kcat's time), and for a moment after Metadata names a
// leader it still answers Fetch with NOT_LEADER_OR_FOLLOWER.
import { Admin, Consumer } from '@platformatic/kafka'

const readyTimeoutMs = 30_000
const pollMs = 50
const clientId = 'zombi-bench-admin'

async function poll(what: string, ready: () => Promise<boolean>): Promise<void> {
  const deadline = performance.now() + readyTimeoutMs
  for (;;) {
    if (await ready().catch(() => false)) return
    if (performance.now() > deadline) throw new Error(`${what} within ${readyTimeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, pollMs))
  }
}

export async function createTopic(bootstrap: string, topic: string): Promise<void> {
  const admin = new Admin({ clientId, bootstrapBrokers: [bootstrap], timeout: readyTimeoutMs, retries: 3 })
  const consumer = new Consumer({ clientId, bootstrapBrokers: [bootstrap], groupId: `${clientId}-unused`, timeout: readyTimeoutMs, retries: 0 })
  try {
    await admin.createTopics({ topics: [topic], partitions: 1, replicas: 1 })
    let leader = -1
    let topicId = ''
    await poll(`topic ${topic} got no leader`, async () => {
      const metadata = await admin.metadata({ topics: [topic], forceUpdate: true })
      const found = metadata.topics.get(topic)
      leader = found?.partitions[0]?.leader ?? -1
      topicId = found?.id ?? ''
      return leader >= 0
    })
    await poll(`topic ${topic} did not answer Fetch`, async () => {
      const response = await consumer.fetch({
        node: leader, maxWaitTime: 0,
        topics: [{ topicId, partitions: [{ partition: 0, fetchOffset: 0n, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 1024 }] }],
      })
      return response.responses[0]?.partitions[0]?.errorCode === 0
    })
  } finally {
    await Promise.all([admin.close(), consumer.close(true)])
  }
}
