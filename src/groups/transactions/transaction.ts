// One transactional id's state as the coordinator keeps it (and persists it as a state row): its
// producer id and epoch, where its transaction is, which partitions and groups it touched and the
// group offsets it will commit. Values are replaced, never changed in place: a state is written to
// the store first and only then becomes the coordinator's.

/** Kafka's transaction states, by the names ListTransactions and DescribeTransactions use. */
export type TransactionStateName = 'Empty' | 'Ongoing' | 'PrepareCommit' | 'PrepareAbort' | 'CompleteCommit' | 'CompleteAbort'

export const TRANSACTION_STATES: readonly TransactionStateName[] = ['Empty', 'Ongoing', 'PrepareCommit', 'PrepareAbort', 'CompleteCommit', 'CompleteAbort']

/** A group offset a transaction carries until it commits. */
export interface PendingOffset {
  groupId: string
  topic: string
  partition: number
  offset: number
  leaderEpoch: number
  metadata: string | null
}

export interface TransactionFields {
  transactionalId: string
  producerId: number
  producerEpoch: number
  state: TransactionStateName
  timeoutMs: number
  /** When the current transaction began (its first AddPartitions/AddOffsets), or -1. */
  startMs: number
  lastUpdateMs: number
  /** "topic/partition" keys of the partitions added to the transaction, in the order added. */
  partitions: string[]
  groups: string[]
  pendingOffsets: PendingOffset[]
}

export class Transaction implements TransactionFields {
  readonly transactionalId: string
  readonly producerId: number
  readonly producerEpoch: number
  readonly state: TransactionStateName
  readonly timeoutMs: number
  readonly startMs: number
  readonly lastUpdateMs: number
  readonly partitions: string[]
  readonly groups: string[]
  readonly pendingOffsets: PendingOffset[]

  constructor(fields: TransactionFields) {
    this.transactionalId = fields.transactionalId
    this.producerId = fields.producerId
    this.producerEpoch = fields.producerEpoch
    this.state = fields.state
    this.timeoutMs = fields.timeoutMs
    this.startMs = fields.startMs
    this.lastUpdateMs = fields.lastUpdateMs
    this.partitions = fields.partitions
    this.groups = fields.groups
    this.pendingOffsets = fields.pendingOffsets
  }

  with(changes: Partial<TransactionFields>): Transaction {
    return new Transaction({ ...this, ...changes })
  }

  hasPartition(topic: string, partition: number): boolean {
    return this.partitions.includes(partitionKey(topic, partition))
  }

  /** The added partitions by topic, as DescribeTransactions lists them. */
  partitionsByTopic(): Map<string, number[]> {
    const byTopic = new Map<string, number[]>()
    for (const key of this.partitions) {
      const { topic, partition } = parsePartitionKey(key)
      let list = byTopic.get(topic)
      if (list === undefined) byTopic.set(topic, list = [])
      list.push(partition)
    }
    return byTopic
  }

  encode(): Buffer {
    return Buffer.from(JSON.stringify({ ...this, version: 1 }))
  }

  static decode(value: Buffer): Transaction {
    const parsed = JSON.parse(value.toString('utf8')) as TransactionFields
    return new Transaction({
      transactionalId: parsed.transactionalId, producerId: parsed.producerId, producerEpoch: parsed.producerEpoch, state: parsed.state,
      timeoutMs: parsed.timeoutMs, startMs: parsed.startMs, lastUpdateMs: parsed.lastUpdateMs,
      partitions: parsed.partitions, groups: parsed.groups, pendingOffsets: parsed.pendingOffsets,
    })
  }
}

export function partitionKey(topic: string, partition: number): string {
  return `${topic}/${partition}`
}

/** Topic names may not hold '/', so the last one splits. */
export function parsePartitionKey(key: string): { topic: string; partition: number } {
  const slash = key.lastIndexOf('/')
  return { topic: key.slice(0, slash), partition: Number(key.slice(slash + 1)) }
}
