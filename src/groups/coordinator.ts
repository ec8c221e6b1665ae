// The group coordinator of this single broker, the one entry point both doors use: it wires the
// group operations (join.ts, sync.ts, heartbeat.ts, leave.ts, offsets.ts, admin.ts) to the
// membership state machine and the stores that keep groups and committed offsets.
import type { BrokerLog } from '../log/broker-log.ts'
import type { Logger } from '../observability/logger.ts'
import { deleteGroups, deleteOffsets, groupSnapshots, type GroupSnapshot } from './admin.ts'
import type { Group, JoinResult, SyncResult } from './group.ts'
import { GroupStore } from './group-store.ts'
import { heartbeat } from './heartbeat.ts'
import { joinGroup, type JoinRequest } from './join.ts'
import { leaveGroup } from './leave.ts'
import { Membership, type GroupSettings } from './membership.ts'
import { OffsetStore, type CommittedOffset } from './offset-store.ts'
import { commitOffsets, expireOffsets, type OffsetCommitEntry } from './offsets.ts'
import { syncGroup } from './sync.ts'
import { TransactionCoordinator, type TransactionSettings } from './transactions/coordinator.ts'
import { ErrorCode } from '../protocol/generated/errors.ts'

export class GroupCoordinator {
  readonly #log: BrokerLog
  readonly #offsetStore: OffsetStore
  readonly #groupStore: GroupStore
  readonly #membership: Membership
  /** Transactions commit group offsets, so their coordinator sits beside the groups'. */
  readonly transactions: TransactionCoordinator

  /** `now` is the transaction coordinator's clock (timeouts; tests pin it). */
  constructor(log: BrokerLog, logger: Logger, settings: GroupSettings & Partial<TransactionSettings>, now: () => number = Date.now) {
    this.#log = log
    this.#offsetStore = new OffsetStore(log.store)
    this.#groupStore = new GroupStore(log.store)
    this.#membership = new Membership(settings, logger, this.#groupStore, this.#offsetStore)
    this.transactions = new TransactionCoordinator(log, this, logger, { transactionMaxTimeoutMs: settings.transactionMaxTimeoutMs ?? 900_000 }, now)
  }

  async load(): Promise<void> {
    await this.#offsetStore.load()
    this.#membership.restore(this.#offsetStore.groupIds(), await this.#groupStore.load())
    // After the offsets: a transaction caught between prepare and complete commits its offsets now.
    await this.transactions.load()
  }

  /** Stops every timer and answers held requests (shutdown). */
  close(): void {
    this.#membership.close()
    this.transactions.close()
  }

  group(groupId: string): Group | undefined {
    return this.#membership.group(groupId)
  }

  groups(): IterableIterator<Group> {
    return this.#membership.groups()
  }

  join(request: JoinRequest): Promise<JoinResult> | JoinResult {
    return joinGroup(this.#membership, request)
  }

  sync(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null, protocolType: string | null, protocolName: string | null, assignments: Array<{ memberId: string; assignment: Buffer }>): Promise<SyncResult> | SyncResult {
    return syncGroup(this.#membership, groupId, generationId, memberId, groupInstanceId, protocolType, protocolName, assignments)
  }

  heartbeat(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): ErrorCode {
    return heartbeat(this.#membership, groupId, generationId, memberId, groupInstanceId)
  }

  /** Removes members that leave on purpose; returns an error code per member. */
  leave(groupId: string, leaving: Array<{ memberId: string; groupInstanceId: string | null }>): ErrorCode[] {
    return leaveGroup(this.#membership, groupId, leaving)
  }

  /** An error code per entry; accepted entries are durable when the promise resolves. */
  commitOffsets(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null, entries: OffsetCommitEntry[]): Promise<ErrorCode[]> {
    return commitOffsets(this.#membership, this.#log, groupId, generationId, memberId, groupInstanceId, entries)
  }

  /**
   * Whether a transactional offset commit may name this member: a member of the group's current
   * generation, or (generation -1, as before TxnOffsetCommit v3) anyone. NONE or the group's error.
   */
  validateTransactionalCommit(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): ErrorCode {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID
    if (generationId < 0) return ErrorCode.NONE
    const member = this.#membership.validateMember(this.#membership.group(groupId), memberId, groupInstanceId, generationId)
    return typeof member === 'number' ? member : ErrorCode.NONE
  }

  /** The offsets a committed transaction carried: made visible (and durable) as one commit of the group. */
  commitTransactionalOffsets(groupId: string, offsets: Array<{ topic: string; partition: number; committed: CommittedOffset }>): Promise<void> {
    if (offsets.length === 0) return Promise.resolve()
    if (this.#membership.group(groupId) === undefined) this.#membership.create(groupId)
    return this.#offsetStore.commit(groupId, offsets)
  }

  fetchOffset(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.#offsetStore.get(groupId, topic, partition)
  }

  /** Every committed partition of a group: [topic, partition, offset]. */
  committedOffsets(groupId: string): Generator<[string, number, CommittedOffset]> {
    return this.#offsetStore.all(groupId)
  }

  expireOffsets(nowMs: number): Promise<string[]> {
    return expireOffsets(this.#membership, nowMs)
  }

  /** Transactional ids idle past Kafka's transactional.id.expiration.ms (7 days) are forgotten. */
  expireTransactionalIds(nowMs: number): Promise<string[]> {
    return this.transactions.expireTransactionalIds(nowMs)
  }

  deleteGroups(groupIds: string[]): Promise<ErrorCode[]> {
    return deleteGroups(this.#membership, groupIds)
  }

  deleteOffsets(groupId: string, partitions: Array<{ topic: string; partition: number }>): Promise<ErrorCode | ErrorCode[]> {
    return deleteOffsets(this.#membership, this.#log, groupId, partitions)
  }

  snapshot(): GroupSnapshot[] {
    return groupSnapshots(this.#membership, this.#log)
  }
}
