// Child process of the crash test: appends batches and state rows to a disk store as fast as
// it can (in the durability it is given) and prints every acknowledgement, until it is killed with SIGKILL.
//   ack <partition> <base offset>      the batch is durable
//   state <n>                          state row `crash/<n>` (value `<n>`) is durable
import { DiskHotStore } from '../../src/storage/disk-store.ts'
import { appendOf, topicRecord } from './batches.ts'

const [dir, segmentBytes, durability] = process.argv.slice(2) as [string, string, 'fsync' | 'none']
const store = new DiskHotStore({ dir, durability, segmentBytes: Number(segmentBytes) })
await store.open()
let topic = (await store.loadTopics())[0]
if (topic === undefined) {
  topic = topicRecord('crash', 2)
  await store.putTopic(topic)
  await store.initPartitions(topic.id, [0, 1])
}
const next = new Map((await store.loadPartitions()).map((p) => [p.partition, p.state.nextOffset]))
let stateRow = (await store.scanState('crash/')).length
process.stdout.write('ready\n')
for (;;) {
  // Several calls per tick, so group commits carry several frames; batch sizes vary so that
  // segments roll at different points.
  const inFlight: Promise<void>[] = []
  for (let i = 0; i < 8; i++) {
    const partition = i % 2
    const base = next.get(partition)!
    next.set(partition, base + 3)
    const request = appendOf(topic.id, partition, base, 3, `p${partition}`, (base * 37) % 700)
    inFlight.push(store.append(request).then(() => void process.stdout.write(`ack ${partition} ${base}\n`)))
  }
  const n = stateRow++
  inFlight.push(store.writeState([{ key: `crash/${String(n).padStart(8, '0')}`, value: Buffer.from(String(n)) }]).then(() => void process.stdout.write(`state ${n}\n`)))
  await Promise.all(inFlight)
}
