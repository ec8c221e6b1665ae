// The loop both kill -9 scenarios run: start the broker on a fixed port and data dir, start an
// idempotent producer, kill -9 the broker at a moment the scenario picks, restart it at once (the
// producer reconnects and delivers what it still holds), repeat; every acknowledgement is kept.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { removeOnExit } from '../lib/cleanup.ts'
import { startZombi, type ZombiProcess } from '../lib/zombi.ts'
import { freePort } from '../../test/support/ports.ts'
import { runProducer, type Delivery, type FaultOptions } from './lib.ts'

export interface KillCycles {
  /** The broker after the last restart, still running on `dataDir`. */
  broker: ZombiProcess
  dataDir: string
  acked: Map<string, Delivery>
  /** Records the producer was given. */
  produced: number
  /** Records whose delivery the producer gave up on (not acknowledged: not counted as lost). */
  failed: number
  /** Records with neither an acknowledgement nor a failure when the producer's final flush timed out. */
  unresolved: number
  /** From spawning the restarted broker to its "zombi ready" line, per restart. */
  restartSeconds: number[]
  /** Start-up output of every restart (it holds the recovery and cleanup lines). */
  startOutputs: string[]
  /** How many kills happened at each kind of moment. */
  moments: Map<string, number>
  removeDataDir(): Promise<void>
}

export interface KillCycleOptions {
  cycles: number
  partitions: number
  settings: Record<string, string>
  /** Records per second the producer offers. */
  rate: number
  /** Resolves when the broker should be killed in `cycle` (the producer started just before). */
  killMoment(cycle: number, broker: ZombiProcess): Promise<string>
}

export async function killCycles(faults: FaultOptions, topic: string, options: KillCycleOptions): Promise<KillCycles> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'zombi-faults-'))
  const kept = removeOnExit(dataDir)
  const settings = { ...faults.settings, ...options.settings, ZOMBI_KAFKA_PORT: String(await freePort()), ZOMBI_DEFAULT_PARTITIONS: String(options.partitions) }
  let broker = await startZombi(faults.source.main, settings, { dataDir })
  const acked = new Map<string, Delivery>()
  const restartSeconds: number[] = []
  const startOutputs: string[] = []
  const moments = new Map<string, number>()
  let produced = 0
  let failed = 0
  let unresolved = 0
  for (let cycle = 0; cycle < options.cycles; cycle++) {
    // The producer offers load for a while after the kill too, so records are in flight across it.
    const producer = runProducer(broker.bootstrap, topic, `c${cycle}`, { partitions: options.partitions, rate: options.rate, seconds: 4, timeoutSecs: 90 })
    const moment = await options.killMoment(cycle, broker)
    moments.set(moment, (moments.get(moment) ?? 0) + 1)
    await broker.kill9()
    const started = performance.now()
    broker = await startZombi(faults.source.main, settings, { dataDir })
    restartSeconds.push((performance.now() - started) / 1000)
    startOutputs.push(broker.output())
    const run = await producer
    for (const [id, delivery] of run.acked) acked.set(id, delivery)
    produced += run.produced
    failed += run.failed
    unresolved += run.produced - run.acked.size - run.failed
    faults.log(`  cycle ${cycle + 1}/${options.cycles}: killed at ${moment}; ${run.produced} produced, ${run.acked.size} acked, ${run.failed} failed${run.error === null ? '' : ` (${run.error})`}`)
  }
  return {
    broker, dataDir, acked, produced, failed, unresolved, restartSeconds, startOutputs, moments,
    async removeDataDir() {
      await rm(dataDir, { recursive: true, force: true })
      kept()
    },
  }
}
