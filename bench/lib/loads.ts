// Load generators: real clients producing and consuming N records of a given size.
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { once } from 'node:events'
import { Consumer, Producer } from '@platformatic/kafka'

export interface LoadResult {
  records: number
  bytes: number
  seconds: number
}

function kcatBinary(): string {
  return process.env.KCAT ?? 'kcat'
}

function run(command: string, args: string[], stdinFile?: string): Promise<{ stdout: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(command, args, { stdio: [stdinFile === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout!.on('data', (chunk: Buffer) => { stdout += chunk.toString() })
    child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    child.on('error', reject)
    child.on('exit', (code) => {
      const seconds = (performance.now() - started) / 1000
      if (code === 0) resolve({ stdout, seconds })
      else reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr.slice(-2000)}`))
    })
  })
}

/** A file of `records` lines of `size` bytes (newline excluded) for kcat -l. */
export async function writeRecordFile(file: string, records: number, size: number): Promise<void> {
  const out = createWriteStream(file)
  const line = Buffer.alloc(size + 1, 0x61)
  line[size] = 0x0a
  for (let i = 0; i < records; i++) {
    // Vary the head of each record so compression-free runs still carry distinct payloads.
    line.write(String(i).padStart(Math.min(size, 12), '0'), 0, 'latin1')
    if (!out.write(line)) await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

export async function kcatProduce(bootstrap: string, topic: string, file: string, records: number, size: number): Promise<LoadResult> {
  const { seconds } = await run(kcatBinary(), ['-P', '-b', bootstrap, '-t', topic, '-p', '0', '-X', 'acks=all', '-X', 'linger.ms=5', '-X', 'batch.num.messages=10000', '-l', file])
  return { records, bytes: records * size, seconds }
}

export async function kcatConsume(bootstrap: string, topic: string, records: number, size: number): Promise<LoadResult> {
  const { stdout, seconds } = await run(kcatBinary(), ['-C', '-b', bootstrap, '-t', topic, '-p', '0', '-o', 'beginning', '-e', '-q', '-X', 'fetch.wait.max.ms=10', '-f', '%o\n'])
  const seen = stdout.split('\n').filter(Boolean).length
  if (seen !== records) throw new Error(`kcat consumed ${seen} records, expected ${records}`)
  return { records, bytes: records * size, seconds }
}

export async function platformaticProduce(bootstrap: string, topic: string, records: number, size: number): Promise<LoadResult> {
  const producer = new Producer({ clientId: 'zombi-bench', bootstrapBrokers: [bootstrap], autocreateTopics: true, retries: 3 })
  const value = Buffer.alloc(size, 0x62)
  const perSend = Math.max(1, Math.min(1000, Math.floor(256 * 1024 / size)))
  const inFlight = 8
  try {
    // One warm-up send creates the topic and the connection outside the timed part.
    await producer.send({ acks: -1, messages: [{ topic, partition: 0, value }] })
    const started = performance.now()
    let sent = 0
    const sendOne = async (): Promise<void> => {
      while (sent < records) {
        const count = Math.min(perSend, records - sent)
        sent += count
        await producer.send({ acks: -1, messages: Array.from({ length: count }, () => ({ topic, partition: 0, value })) })
      }
    }
    await Promise.all(Array.from({ length: inFlight }, sendOne))
    return { records, bytes: records * size, seconds: (performance.now() - started) / 1000 }
  } finally {
    await producer.close()
  }
}

/** Reads partition 0 from the beginning to the high watermark without a group, counting records. */
export async function platformaticConsume(bootstrap: string, topic: string, records: number, size: number): Promise<LoadResult> {
  const consumer = new Consumer({ clientId: 'zombi-bench', bootstrapBrokers: [bootstrap], groupId: 'zombi-bench-unused', retries: 3 })
  try {
    const metadata = await consumer.metadata({ topics: [topic] })
    const topicMetadata = metadata.topics.get(topic)!
    const leader = topicMetadata.partitions[0]!.leader
    const started = performance.now()
    let offset = 0n
    let seen = 0
    while (seen < records) {
      const response = await consumer.fetch({
        node: leader,
        maxWaitTime: 100,
        topics: [{ topicId: topicMetadata.id, partitions: [{ partition: 0, fetchOffset: offset, currentLeaderEpoch: -1, lastFetchedEpoch: -1, partitionMaxBytes: 8 * 1024 * 1024 }] }],
      })
      const partition = response.responses[0]!.partitions[0]!
      if (partition.errorCode !== 0) throw new Error(`fetch error ${partition.errorCode}`)
      for (const batch of partition.records ?? []) {
        for (const record of batch.records) {
          const recordOffset = batch.firstOffset + BigInt(record.offsetDelta)
          if (recordOffset < offset) continue
          seen++
          offset = recordOffset + 1n
        }
      }
    }
    return { records: seen, bytes: seen * size, seconds: (performance.now() - started) / 1000 }
  } finally {
    await consumer.close()
  }
}
