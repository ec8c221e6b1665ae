// Slow and half-open clients: idle connections, connections that send a 4 KiB request 1 byte per
// second, and connections that announce a 64 MiB frame and send 2 MiB of it, all held open at once
// while a bystander client produces and reads back one record every half second. Reports how many
// connections the broker still holds at the end of the hold, its RSS before, during and after, and
// whether the bystander kept working. Socket limits given as ZOMBI_* environment variables reach the
// broker, so the same command shows their effect.
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Kafka, logLevel } from 'kafkajs'
import { startZombi } from '../lib/zombi.ts'
import type { FaultOptions, FaultResult } from './lib.ts'

const MIB = 1024 * 1024

function rssMiB(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return match === null ? NaN : Number(match[1]) / 1024
}

async function heldConnections(httpUrl: string): Promise<number> {
  const response = await fetch(`${httpUrl}/stats`, { signal: AbortSignal.timeout(5000) })
  return ((await response.json()) as { kafka_connections: number }).kafka_connections
}

/**
 * A 4 KiB request frame that starts as ApiVersions v0: sent 1 byte per second, it is never complete
 * within the hold (a slowloris client).
 */
function slowFrame(): Buffer {
  const frame = Buffer.alloc(4096)
  frame.writeInt32BE(frame.length - 4, 0)
  frame.writeInt16BE(18, 4)
  frame.writeInt16BE(0, 6)
  frame.writeInt32BE(1, 8)
  frame.writeInt16BE(-1, 12)
  return frame
}

interface Held {
  socket: Socket
  closedByBroker: boolean
}

/** Opens a connection; one the broker refuses or drops counts as closed by the broker. */
function open(port: number, held: Held[]): Promise<Held> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port })
    const entry: Held = { socket, closedByBroker: false }
    held.push(entry)
    socket.once('connect', () => resolve(entry))
    socket.on('error', () => undefined)
    socket.once('close', () => {
      entry.closedByBroker = true
      resolve(entry)
    })
    socket.on('data', () => undefined)
  })
}

export async function slowClients(options: FaultOptions): Promise<FaultResult> {
  const counts = options.quick ? { idle: 100, trickle: 20, partial: 20 } : { idle: 500, trickle: 50, partial: 50 }
  const holdMs = options.quick ? 20_000 : 60_000
  const broker = await startZombi(options.source.main, { ...options.settings })
  const port = Number(broker.bootstrap.split(':')[1])
  const kafka = new Kafka({ clientId: 'bystander', brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 0 } })
  const producer = kafka.producer({ allowAutoTopicCreation: true })
  const admin = kafka.admin()
  const topic = 'faults-bystander'
  const kinds: Record<keyof typeof counts, Held[]> = { idle: [], trickle: [], partial: [] }
  const timers: NodeJS.Timeout[] = []
  try {
    await producer.connect()
    await admin.connect()
    await producer.send({ topic, messages: [{ value: 'warm-up' }], acks: -1 })
    await sleep(1000)
    const rssBefore = rssMiB(broker.pid)
    const heldBefore = await heldConnections(broker.httpUrl)

    for (let i = 0; i < counts.idle; i++) await open(port, kinds.idle)
    const frame = slowFrame()
    for (let i = 0; i < counts.trickle; i++) {
      const entry = await open(port, kinds.trickle)
      let sent = 0
      const timer = setInterval(() => {
        if (sent < frame.length && !entry.socket.destroyed) entry.socket.write(frame.subarray(sent, ++sent))
      }, 1000)
      timers.push(timer)
    }
    const announced = Buffer.alloc(4)
    announced.writeInt32BE(64 * MIB)
    const part = Buffer.alloc(2 * MIB)
    for (let i = 0; i < counts.partial; i++) {
      const entry = await open(port, kinds.partial)
      entry.socket.write(announced)
      entry.socket.write(part)
    }

    // The bystander: one record produced (acks=all) and its offset read back, every half second.
    let bystanderOk = 0
    let bystanderFailed = 0
    let slowestMs = 0
    let peakRss = rssBefore
    const holdUntil = performance.now() + holdMs
    let sequence = 0
    while (performance.now() < holdUntil) {
      const started = performance.now()
      try {
        const [result] = await producer.send({ topic, messages: [{ value: `bystander-${sequence++}` }], acks: -1, timeout: 5000 })
        const offsets = await admin.fetchTopicOffsets(topic)
        if (result === undefined || Number(offsets[0]!.high) <= Number(result.baseOffset)) throw new Error('record not visible')
        bystanderOk++
      } catch {
        bystanderFailed++
      }
      slowestMs = Math.max(slowestMs, performance.now() - started)
      peakRss = Math.max(peakRss, rssMiB(broker.pid))
      await sleep(500)
    }
    const heldDuring = await heldConnections(broker.httpUrl)
    const open_ = (list: Held[]): number => list.filter((entry) => !entry.closedByBroker).length
    const stillOpen = { idle: open_(kinds.idle), trickle: open_(kinds.trickle), partial: open_(kinds.partial) }

    for (const timer of timers) clearInterval(timer)
    for (const list of Object.values(kinds)) for (const entry of list) entry.socket.destroy()
    await sleep(3000)
    const rssAfter = rssMiB(broker.pid)
    const heldAfter = await heldConnections(broker.httpUrl)
    const limits = Object.entries(options.settings).filter(([name]) => /MAX_CONNECTIONS|IDLE|REQUEST_TIMEOUT|BUFFERED/.test(name))
    return {
      scenario: 'slow and half-open clients',
      figures: [
        ['connections opened: idle / 1 byte/s / partial 64 MiB frame', `${counts.idle} / ${counts.trickle} / ${counts.partial}`],
        ['hold, s', holdMs / 1000],
        ['still open after the hold: idle / 1 byte/s / partial', `${stillOpen.idle} / ${stillOpen.trickle} / ${stillOpen.partial}`],
        ['broker Kafka connections: before / end of hold / after close', `${heldBefore} / ${heldDuring} / ${heldAfter}`],
        ['broker RSS MiB: before / peak during / after close', `${rssBefore.toFixed(0)} / ${peakRss.toFixed(0)} / ${rssAfter.toFixed(0)}`],
        ['bystander round trips ok / failed', `${bystanderOk} / ${bystanderFailed}`],
        ['bystander slowest round trip, ms', Math.round(slowestMs)],
        ['socket limit settings', limits.length === 0 ? 'none (defaults)' : limits.map(([name, value]) => `${name}=${value}`).join(' ')],
      ],
      // The promise checked here: slow clients do not stop the broker serving others.
      ok: bystanderFailed === 0 && heldAfter <= heldBefore,
      notes: [],
    }
  } finally {
    for (const timer of timers) clearInterval(timer)
    for (const list of Object.values(kinds)) for (const entry of list) entry.socket.destroy()
    await producer.disconnect().catch(() => undefined)
    await admin.disconnect().catch(() => undefined)
    await broker.stop()
  }
}
