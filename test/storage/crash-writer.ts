// Child process for the crash test: appends to a disk store as fast as it can (durability
// fsync) and prints every acknowledged base offset, until it is killed with SIGKILL.
import { DiskHotStore } from '../../src/storage/disk-store.ts'
import { batchAt, topicRecord } from './contract.ts'

const [dir, segmentBytes] = process.argv.slice(2) as [string, string]
const store = new DiskHotStore({ dir, durability: 'fsync', segmentBytes: Number(segmentBytes) })
await store.open()
let topic = (await store.loadTopics())[0]
if (topic === undefined) {
  topic = topicRecord('crash', 2)
  await store.putTopic(topic)
  await store.initPartitions(topic.id, [0, 1])
}
const next = new Map((await store.loadPartitions()).map((p) => [p.partition, p.state.nextOffset]))
process.stdout.write(`ready ${JSON.stringify([...next])}\n`)
for (;;) {
  // Several appends per tick so that group commits carry more than one frame.
  const inFlight: Promise<void>[] = []
  for (let i = 0; i < 8; i++) {
    const partition = i % 2
    const base = next.get(partition)!
    next.set(partition, base + 3)
    inFlight.push(store.append({ topicId: topic.id, partition, baseOffset: base, lastOffset: base + 2, maxTimestamp: base, bytes: batchAt(base, 3, `p${partition}`) })
      .then(() => void process.stdout.write(`ack ${partition} ${base}\n`)))
  }
  await Promise.all(inFlight)
}
