// The transaction coordinator of this single broker (it coordinates every transactional id):
// InitProducerId with a transactional id, AddPartitionsToTxn, AddOffsetsToTxn, TxnOffsetCommit and
// EndTxn move a transactional id through Kafka's states (Empty -> Ongoing -> PrepareCommit |
// PrepareAbort -> CompleteCommit | CompleteAbort). Every new state is durable (a state row in the
// hot store's group commit) before the client hears of it. Ending a transaction writes the commit or
// abort marker to each of its partitions through the log's append path, then (on commit) makes its
// group offsets visible, then records the completion; a start that finds a Prepare* state finishes
// it (markers are written idempotently), an Ongoing one is aborted once its timeout passes.
import type { BrokerLog } from '../../log/broker-log.ts'
import { storageRefusal } from '../../log/broker-log.ts'
import type { Logger } from '../../observability/logger.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import type { GroupCoordinator } from '../coordinator.ts'
import { Transaction, partitionKey, parsePartitionKey, type PendingOffset, type TransactionStateName } from './transaction.ts'

const STATE_PREFIX = 'txn/'
/** Epochs are int16; one short of the maximum the producer gets a new id instead (as Kafka does). */
const MAX_EPOCH = 32766
/** Single broker: the coordinator's epoch never changes. */
export const COORDINATOR_EPOCH = 0
const TIMEOUT_CHECK_MS = 1000
/** Kafka's transactional.id.expiration.ms default: an id idle this long (no transaction open) is forgotten. */
export const TRANSACTIONAL_ID_EXPIRATION_MS = 7 * 24 * 60 * 60 * 1000

export interface TransactionSettings {
  transactionMaxTimeoutMs: number
}

/** The error a fenced producer gets: PRODUCER_FENCED from the version that knows it, else INVALID_PRODUCER_EPOCH. */
export function fencedError(knowsProducerFenced: boolean): ErrorCode {
  return knowsProducerFenced ? ErrorCode.PRODUCER_FENCED : ErrorCode.INVALID_PRODUCER_EPOCH
}

export interface InitResult {
  errorCode: ErrorCode
  producerId: number
  producerEpoch: number
}

export interface PartitionRef {
  topic: string
  partition: number
}

export interface TxnOffset {
  topic: string
  partition: number
  offset: number
  leaderEpoch: number
  metadata: string | null
}

export class TransactionCoordinator {
  readonly #log: BrokerLog
  readonly #groups: GroupCoordinator
  readonly #logger: Logger
  readonly #settings: TransactionSettings
  readonly #now: () => number
  readonly #transactions = new Map<string, Transaction>()
  /** Operations on one transactional id run one after the other. */
  readonly #queues = new Map<string, Promise<unknown>>()
  #timer: NodeJS.Timeout | null = null
  /** Transactions aborted by their timeout since the start (a metric). */
  timedOut = 0

  constructor(log: BrokerLog, groups: GroupCoordinator, logger: Logger, settings: TransactionSettings, now: () => number = Date.now) {
    this.#log = log
    this.#groups = groups
    this.#logger = logger
    this.#settings = settings
    this.#now = now
  }

  /** Reads the transactions back, finishes those caught between prepare and complete, starts the timeout check. */
  async load(): Promise<void> {
    for (const { value } of await this.#log.store.scanState(STATE_PREFIX)) {
      const transaction = Transaction.decode(value)
      this.#transactions.set(transaction.transactionalId, transaction)
    }
    for (const transaction of [...this.#transactions.values()]) {
      if (transaction.state === 'PrepareCommit' || transaction.state === 'PrepareAbort') {
        await this.#serial(transaction.transactionalId, () => this.#complete(transaction))
      }
    }
    this.#timer = setInterval(() => void this.abortExpired().catch((error: unknown) => this.#logger.error({ err: error }, 'aborting timed-out transactions failed')), TIMEOUT_CHECK_MS)
    this.#timer.unref()
  }

  close(): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  get(transactionalId: string): Transaction | undefined {
    return this.#transactions.get(transactionalId)
  }

  all(): IterableIterator<Transaction> {
    return this.#transactions.values()
  }

  /**
   * A producer id and a new epoch for a transactional id (the first call allocates the id). A
   * transaction still open is aborted first; the bumped epoch fences every older producer.
   */
  initProducerId(transactionalId: string, timeoutMs: number, producerId: number, producerEpoch: number, knowsProducerFenced: boolean): Promise<InitResult> {
    if (!(timeoutMs > 0 && timeoutMs <= this.#settings.transactionMaxTimeoutMs)) {
      return Promise.resolve({ errorCode: ErrorCode.INVALID_TRANSACTION_TIMEOUT, producerId: -1, producerEpoch: -1 })
    }
    return this.#serial(transactionalId, async (): Promise<InitResult> => {
      const current = this.#transactions.get(transactionalId)
      const now = this.#now()
      const fresh = { state: 'Empty' as const, timeoutMs, startMs: -1, lastUpdateMs: now, partitions: [], groups: [], pendingOffsets: [] }
      if (current === undefined) {
        const allocated = await this.#allocate()
        if (typeof allocated !== 'number') return { errorCode: allocated, producerId: -1, producerEpoch: -1 }
        const created = new Transaction({ transactionalId, producerId: allocated, producerEpoch: 0, ...fresh })
        const error = await this.#persist(created)
        return error === null ? { errorCode: ErrorCode.NONE, producerId: created.producerId, producerEpoch: 0 } : { errorCode: error, producerId: -1, producerEpoch: -1 }
      }
      // A producer recovering its own id (KIP-360) names it; someone else's or an old epoch is fenced.
      if (producerId >= 0 && (producerId !== current.producerId || producerEpoch !== current.producerEpoch)) {
        return { errorCode: fencedError(knowsProducerFenced), producerId: -1, producerEpoch: -1 }
      }
      if (current.state === 'PrepareCommit' || current.state === 'PrepareAbort') {
        const completed = await this.#complete(current)
        if (completed !== null) return { errorCode: completed, producerId: -1, producerEpoch: -1 }
      }
      const bumped = await this.#bump(this.#transactions.get(transactionalId)!)
      if (typeof bumped === 'number') return { errorCode: bumped, producerId: -1, producerEpoch: -1 }
      let settled = bumped
      if (bumped.state === 'Ongoing') {
        // The old producer's transaction is aborted under the new epoch, so its markers fence it on every partition.
        const aborted = await this.#end(bumped, false)
        if (aborted !== ErrorCode.NONE) return { errorCode: aborted, producerId: -1, producerEpoch: -1 }
        settled = this.#transactions.get(transactionalId)!
      }
      const ready = settled.with(fresh)
      const error = await this.#persist(ready)
      return error === null ? { errorCode: ErrorCode.NONE, producerId: ready.producerId, producerEpoch: ready.producerEpoch } : { errorCode: error, producerId: -1, producerEpoch: -1 }
    })
  }

  /**
   * Whether an open transaction holds an offset of the group's partition that is not committed yet
   * (OffsetFetch with require_stable answers UNSTABLE_OFFSET_COMMIT then, KIP-447).
   */
  hasPendingOffset(groupId: string, topic: string, partition: number): boolean {
    for (const transaction of this.#transactions.values()) {
      if (transaction.state === 'Empty' || transaction.state === 'CompleteCommit' || transaction.state === 'CompleteAbort') continue
      if (transaction.pendingOffsets.some((p) => p.groupId === groupId && p.topic === topic && p.partition === partition)) return true
    }
    return false
  }

  /** The producer's standing with its transactional id: NONE, or the error its request gets. */
  check(transactionalId: string, producerId: number, producerEpoch: number, knowsProducerFenced: boolean): ErrorCode {
    const current = this.#transactions.get(transactionalId)
    if (current === undefined || current.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    if (current.producerEpoch !== producerEpoch) return fencedError(knowsProducerFenced)
    return ErrorCode.NONE
  }

  /**
   * Whether a transactional batch may be appended (KIP-890 part 1 verification): its producer is the
   * current one of its transactional id and the partition was added to the open transaction.
   */
  verifyProduce(transactionalId: string, producerId: number, producerEpoch: number, topic: string, partition: number): ErrorCode {
    const current = this.#transactions.get(transactionalId)
    if (current === undefined || current.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
    if (producerEpoch !== current.producerEpoch) return ErrorCode.INVALID_PRODUCER_EPOCH
    if (current.state !== 'Ongoing' || !current.hasPartition(topic, partition)) return ErrorCode.INVALID_TXN_STATE
    return ErrorCode.NONE
  }

  /** Adds partitions (or, with `verifyOnly`, checks they were added); one error code for all. */
  addPartitions(transactionalId: string, producerId: number, producerEpoch: number, partitions: readonly PartitionRef[], knowsProducerFenced: boolean, verifyOnly = false): Promise<ErrorCode> {
    return this.#serial(transactionalId, async () => {
      const error = this.#writable(transactionalId, producerId, producerEpoch, knowsProducerFenced)
      if (error !== ErrorCode.NONE) return error
      const current = this.#transactions.get(transactionalId)!
      if (verifyOnly) return partitions.every((p) => current.state === 'Ongoing' && current.hasPartition(p.topic, p.partition)) ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE
      const started = this.#started(current)
      const added = [...started.partitions]
      for (const { topic, partition } of partitions) if (!added.includes(partitionKey(topic, partition))) added.push(partitionKey(topic, partition))
      if (added.length === started.partitions.length && current.state === 'Ongoing') return ErrorCode.NONE
      return (await this.#persist(started.with({ partitions: added }))) ?? ErrorCode.NONE
    })
  }

  /** Adds a group whose offsets the transaction will commit (AddOffsetsToTxn). */
  addOffsets(transactionalId: string, producerId: number, producerEpoch: number, groupId: string, knowsProducerFenced: boolean): Promise<ErrorCode> {
    return this.#serial(transactionalId, async () => {
      const error = this.#writable(transactionalId, producerId, producerEpoch, knowsProducerFenced)
      if (error !== ErrorCode.NONE) return error
      const started = this.#started(this.#transactions.get(transactionalId)!)
      if (started.groups.includes(groupId) && started === this.#transactions.get(transactionalId)) return ErrorCode.NONE
      const groups = started.groups.includes(groupId) ? started.groups : [...started.groups, groupId]
      return (await this.#persist(started.with({ groups }))) ?? ErrorCode.NONE
    })
  }

  /** Group offsets held by the transaction until it commits (TxnOffsetCommit); an error per offset. */
  commitOffsets(transactionalId: string, groupId: string, producerId: number, producerEpoch: number, offsets: readonly TxnOffset[]): Promise<ErrorCode[]> {
    return this.#serial(transactionalId, async () => {
      const all = (code: ErrorCode): ErrorCode[] => offsets.map(() => code)
      const current = this.#transactions.get(transactionalId)
      if (current === undefined || current.producerId !== producerId) return all(ErrorCode.INVALID_PRODUCER_ID_MAPPING)
      if (current.producerEpoch !== producerEpoch) return all(ErrorCode.INVALID_PRODUCER_EPOCH)
      if (current.state !== 'Ongoing' || !current.groups.includes(groupId)) return all(ErrorCode.INVALID_TXN_STATE)
      const pending = current.pendingOffsets.filter((p) => !(p.groupId === groupId && offsets.some((o) => o.topic === p.topic && o.partition === p.partition)))
      const errors = offsets.map((o) => {
        if (this.#log.partition(o.topic, o.partition) === undefined) return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
        if (o.offset < -1) return ErrorCode.INVALID_COMMIT_OFFSET_SIZE
        pending.push({ groupId, topic: o.topic, partition: o.partition, offset: o.offset, leaderEpoch: o.leaderEpoch, metadata: o.metadata })
        return ErrorCode.NONE
      })
      const error = await this.#persist(current.with({ pendingOffsets: pending, lastUpdateMs: this.#now() }))
      return error === null ? errors : all(error)
    })
  }

  /** Commits or aborts the open transaction (EndTxn); a retry of a finished end answers NONE. */
  endTransaction(transactionalId: string, producerId: number, producerEpoch: number, commit: boolean, knowsProducerFenced: boolean): Promise<ErrorCode> {
    return this.#serial(transactionalId, async () => {
      const current = this.#transactions.get(transactionalId)
      if (current === undefined || current.producerId !== producerId) return ErrorCode.INVALID_PRODUCER_ID_MAPPING
      if (current.producerEpoch !== producerEpoch) return fencedError(knowsProducerFenced)
      switch (current.state) {
        case 'Ongoing':
          return this.#end(current, commit)
        case 'PrepareCommit':
        case 'PrepareAbort':
          if ((current.state === 'PrepareCommit') !== commit) return ErrorCode.INVALID_TXN_STATE
          return (await this.#complete(current)) ?? ErrorCode.NONE
        case 'CompleteCommit':
          return commit ? ErrorCode.NONE : ErrorCode.INVALID_TXN_STATE
        case 'CompleteAbort':
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE
        default:
          // Empty: an abort of nothing is fine (clients abort after an error before anything was added).
          return commit ? ErrorCode.INVALID_TXN_STATE : ErrorCode.NONE
      }
    })
  }

  /**
   * Aborts every transaction open longer than its timeout (the bumped epoch fences its producer), and
   * finishes any whose end could not be completed before (its markers or state were not stored).
   */
  async abortExpired(): Promise<string[]> {
    const now = this.#now()
    const expired: string[] = []
    for (const transaction of this.#transactions.values()) {
      if (transaction.state === 'PrepareCommit' || transaction.state === 'PrepareAbort') {
        await this.#serial(transaction.transactionalId, async () => {
          const current = this.#transactions.get(transaction.transactionalId)
          if (current?.state === 'PrepareCommit' || current?.state === 'PrepareAbort') await this.#complete(current)
        })
        continue
      }
      if (transaction.state !== 'Ongoing' || now - transaction.startMs <= transaction.timeoutMs) continue
      const id = transaction.transactionalId
      await this.#serial(id, async () => {
        const current = this.#transactions.get(id)
        if (current?.state !== 'Ongoing' || now - current.startMs <= current.timeoutMs) return
        const bumped = await this.#bump(current)
        if (typeof bumped === 'number') return
        if ((await this.#end(bumped, false)) === ErrorCode.NONE) {
          expired.push(id)
          this.timedOut++
          this.#logger.info({ transactionalId: id, producerId: bumped.producerId, timeoutMs: bumped.timeoutMs }, 'transaction timed out and was aborted')
        }
      })
    }
    return expired
  }

  /**
   * Forgets transactional ids without an open transaction whose state last changed longer ago than the
   * expiration (in memory and their state rows); their next InitProducerId gets a new producer id.
   */
  async expireTransactionalIds(nowMs: number, expirationMs = TRANSACTIONAL_ID_EXPIRATION_MS): Promise<string[]> {
    const expired: string[] = []
    for (const transaction of [...this.#transactions.values()]) {
      if (transaction.state !== 'Empty' && transaction.state !== 'CompleteCommit' && transaction.state !== 'CompleteAbort') continue
      if (nowMs - transaction.lastUpdateMs < expirationMs) continue
      const id = transaction.transactionalId
      await this.#serial(id, async () => {
        const current = this.#transactions.get(id)
        if (current !== transaction) return
        await this.#log.store.writeState([{ key: STATE_PREFIX + id, value: null }])
        this.#transactions.delete(id)
        expired.push(id)
      })
    }
    return expired
  }

  /** NONE when the producer is current and the transaction can take more (not between prepare and complete). */
  #writable(transactionalId: string, producerId: number, producerEpoch: number, knowsProducerFenced: boolean): ErrorCode {
    const error = this.check(transactionalId, producerId, producerEpoch, knowsProducerFenced)
    if (error !== ErrorCode.NONE) return error
    const state = this.#transactions.get(transactionalId)!.state
    return state === 'PrepareCommit' || state === 'PrepareAbort' ? ErrorCode.CONCURRENT_TRANSACTIONS : ErrorCode.NONE
  }

  /** The transaction as Ongoing: a new one starts (its clock too) unless one is open. */
  #started(current: Transaction): Transaction {
    if (current.state === 'Ongoing') return current
    const now = this.#now()
    return current.with({ state: 'Ongoing', startMs: now, lastUpdateMs: now, partitions: [], groups: [], pendingOffsets: [] })
  }

  /** Prepare, markers, offsets, complete: NONE once the transaction is complete. */
  async #end(current: Transaction, commit: boolean): Promise<ErrorCode> {
    const prepared = current.with({ state: commit ? 'PrepareCommit' : 'PrepareAbort', lastUpdateMs: this.#now() })
    const error = await this.#persist(prepared)
    if (error !== null) return error
    return (await this.#complete(prepared)) ?? ErrorCode.NONE
  }

  /** Finishes a prepared transaction: markers on every partition, group offsets on commit, then the Complete state. */
  async #complete(prepared: Transaction): Promise<ErrorCode | null> {
    const commit = prepared.state === 'PrepareCommit'
    // Every marker is queued in this tick, so one group commit (one fsync) makes them all durable.
    const markers: Array<Promise<{ message: string } | null>> = []
    for (const key of prepared.partitions) {
      const { topic: topicName, partition: index } = parsePartitionKey(key)
      const topic = this.#log.topicByName(topicName)
      const partition = topic?.partitions[index]
      // A partition of a topic deleted since holds nothing to mark.
      if (topic === undefined || partition === undefined) continue
      markers.push(this.#log.writeTransactionMarker(topic, partition, prepared.producerId, prepared.producerEpoch, commit, COORDINATOR_EPOCH))
    }
    const failed = (await Promise.all(markers)).find((result) => result !== null)
    if (failed !== undefined && failed !== null) {
      this.#logger.warn({ transactionalId: prepared.transactionalId, error: failed.message }, 'transaction marker not written; the end is retried')
      return ErrorCode.COORDINATOR_NOT_AVAILABLE
    }
    if (commit) {
      try {
        for (const [groupId, offsets] of byGroup(prepared.pendingOffsets, this.#now())) await this.#groups.commitTransactionalOffsets(groupId, offsets)
      } catch (error) {
        if (storageRefusal(error) === null) throw error
        return ErrorCode.COORDINATOR_NOT_AVAILABLE
      }
    }
    const completed = prepared.with({ state: commit ? 'CompleteCommit' : 'CompleteAbort', lastUpdateMs: this.#now(), partitions: [], groups: [], pendingOffsets: [], startMs: -1 })
    return this.#persist(completed)
  }

  /** The next epoch of the transactional id (a new producer id once epochs run out), made durable. */
  async #bump(current: Transaction): Promise<Transaction | ErrorCode> {
    let bumped: Transaction
    if (current.producerEpoch >= MAX_EPOCH) {
      const allocated = await this.#allocate()
      if (typeof allocated !== 'number') return allocated
      bumped = current.with({ producerId: allocated, producerEpoch: 0 })
    } else {
      bumped = current.with({ producerEpoch: current.producerEpoch + 1 })
    }
    return (await this.#persist(bumped)) ?? bumped
  }

  async #allocate(): Promise<number | ErrorCode> {
    try {
      return await this.#log.allocateProducerId()
    } catch (error) {
      if (storageRefusal(error) === null) throw error
      return ErrorCode.COORDINATOR_NOT_AVAILABLE
    }
  }

  /** Writes the state durably, then makes it current; null, or the error the client gets (the state is then unchanged). */
  async #persist(next: Transaction): Promise<ErrorCode | null> {
    try {
      await this.#log.store.writeState([{ key: STATE_PREFIX + next.transactionalId, value: next.encode() }])
    } catch (error) {
      if (storageRefusal(error) === null) throw error
      this.#logger.warn({ err: error, transactionalId: next.transactionalId }, 'transaction state could not be stored')
      // Clients look the coordinator up again and retry on this one.
      return ErrorCode.COORDINATOR_NOT_AVAILABLE
    }
    this.#transactions.set(next.transactionalId, next)
    return null
  }

  #serial<T>(transactionalId: string, operation: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(transactionalId) ?? Promise.resolve()
    const run = previous.then(operation, operation)
    const settled = run.catch(() => undefined)
    this.#queues.set(transactionalId, settled)
    void settled.then(() => {
      if (this.#queues.get(transactionalId) === settled) this.#queues.delete(transactionalId)
    })
    return run
  }
}

function byGroup(pending: readonly PendingOffset[], nowMs: number): Map<string, Array<{ topic: string; partition: number; committed: { offset: number; leaderEpoch: number; metadata: string | null; commitTimestampMs: number } }>> {
  const groups = new Map<string, Array<{ topic: string; partition: number; committed: { offset: number; leaderEpoch: number; metadata: string | null; commitTimestampMs: number } }>>()
  for (const p of pending) {
    let list = groups.get(p.groupId)
    if (list === undefined) groups.set(p.groupId, list = [])
    list.push({ topic: p.topic, partition: p.partition, committed: { offset: p.offset, leaderEpoch: p.leaderEpoch, metadata: p.metadata, commitTimestampMs: nowMs } })
  }
  return groups
}

export type { TransactionStateName }
