// kill -9 under load: an idempotent acks=all producer runs while the broker is killed at a random
// moment 1–3 s into each cycle and restarted; at the end every acknowledged record must be in the
// log exactly once, at the offset its acknowledgement gave, and offsets must be dense. Run with
// ZOMBI_DURABILITY=fsync and =none: both promise that a process crash loses nothing acknowledged
// (none leaves the bytes to the OS page cache, which a kill -9 does not touch).
import { setTimeout as sleep } from 'node:timers/promises'
import { killCycles } from './kill-cycles.ts'
import { account, consumeAll, endOffsets, type FaultOptions, type FaultResult } from './lib.ts'
import { median } from '../lib/report.ts'

const PARTITIONS = 2

export async function killLoop(options: FaultOptions, durability: 'fsync' | 'none'): Promise<FaultResult> {
  const cycles = options.cycles ?? (options.quick ? 3 : 10)
  const topic = `faults-kill-loop-${durability}`
  const run = await killCycles(options, topic, {
    cycles, partitions: PARTITIONS, rate: 20_000, settings: { ZOMBI_DURABILITY: durability },
    async killMoment() {
      await sleep(1000 + Math.random() * 2000)
      return 'random 1–3 s'
    },
  })
  try {
    const ends = await endOffsets(run.broker.bootstrap, topic)
    const records = await consumeAll(run.broker.bootstrap, topic, PARTITIONS, ends.reduce((a, b) => a + b, 0))
    const result = account(run.acked, records)
    await run.broker.stop()
    return {
      scenario: `kill -9 loop under load, ZOMBI_DURABILITY=${durability}`,
      figures: [
        ['cycles (kill -9 + restart)', cycles],
        ['records offered by the producer', run.produced],
        ['records acked', result.acked],
        ['records in the log', records.length],
        ['acked records lost', result.lost],
        ['records duplicated', result.duplicated],
        ['acked records at another offset', result.misplaced],
        ['partitions with offset gaps', result.sparsePartitions],
        ['deliveries the producer gave up / left unresolved', `${run.failed} / ${run.unresolved}`],
        ['restart to ready, median s', median(run.restartSeconds).toFixed(2)],
      ],
      ok: result.lost === 0 && result.duplicated === 0 && result.misplaced === 0 && result.sparsePartitions === 0,
      notes: [],
    }
  } finally {
    await run.broker.kill9()
    await run.removeDataDir()
  }
}
