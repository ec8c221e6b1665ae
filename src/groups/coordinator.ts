// The group coordinator of this single broker, the one entry point both doors use: it wires the
// group operations (join.ts, sync.ts, heartbeat.ts, leave.ts, offsets.ts, admin.ts) to the
// membership state machine and the stores that keep groups and committed offsets.
import type { BrokerLog } from '../log/broker-log.ts'
import type { Logger } from '../observability/logger.ts'
import { deleteConsumerGroupOffsets, deleteGroups, deleteOffsets, groupSnapshots, type GroupSnapshot } from './admin.ts'
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
import { joinError } from './group.ts'
import type { ConsumerGroup } from './consumer-group.ts'
import { ConsumerGroupStore } from './consumer-group-store.ts'
import { ConsumerGroups, type ConsumerGroupSettings } from './consumer-groups.ts'
import { consumerHeartbeat, type ConsumerHeartbeat, type ConsumerHeartbeatResult } from './consumer-heartbeat.ts'

export class GroupCoordinator {
  readonly #log: BrokerLog
  readonly #offsetStore: OffsetStore
  readonly #groupStore: GroupStore
  readonly #membership: Membership
  /** Transactions commit group offsets, so their coordinator sits beside the groups'. */
  readonly transactions: TransactionCoordinator
  readonly #consumerStore: ConsumerGroupStore
  /** Consumer-protocol groups (KIP-848), beside the classic groups of #membership. */
  readonly consumerGroups: ConsumerGroups

  /** `now` is the transaction coordinator's clock (timeouts; tests pin it). */
  constructor(log: BrokerLog, logger: Logger, settings: GroupSettings & ConsumerGroupSettings & Partial<TransactionSettings>, now: () => number = Date.now) {
    this.#log = log
    this.#offsetStore = new OffsetStore(log.store)
    this.#groupStore = new GroupStore(log.store)
    this.#consumerStore = new ConsumerGroupStore(log.store)
    this.#membership = new Membership(settings, logger, this.#groupStore, this.#offsetStore)
    this.transactions = new TransactionCoordinator(log, this, logger, { transactionMaxTimeoutMs: settings.transactionMaxTimeoutMs ?? 900_000 }, now)
    this.consumerGroups = new ConsumerGroups(settings, logger, log, this.#consumerStore, this.#membership)
  }

  async load(): Promise<void> {
    await this.#offsetStore.load()
    this.#membership.restore(this.#offsetStore.groupIds(), await this.#groupStore.load())
    this.consumerGroups.restore(await this.#consumerStore.load())
    // After the offsets: a transaction caught between prepare and complete commits its offsets now.
    await this.transactions.load()
  }

  /** Stops every timer and answers held requests (shutdown). */
  close(): void {
    this.#membership.close()
    this.transactions.close()
    this.consumerGroups.close()
  }

  consumerGroup(groupId: string): ConsumerGroup | undefined {
    return this.consumerGroups.group(groupId)
  }

  consumerHeartbeat(request: ConsumerHeartbeat): Promise<ConsumerHeartbeatResult> {
    return consumerHeartbeat(this.consumerGroups, request)
  }

  group(groupId: string): Group | undefined {
    return this.#membership.group(groupId)
  }

  groups(): IterableIterator<Group> {
    return this.#membership.groups()
  }

  join(request: JoinRequest): Promise<JoinResult> | JoinResult {
    const consumerGroup = this.consumerGroups.group(request.groupId)
    if (consumerGroup !== undefined) {
      // A group id belongs to one protocol at a time; an empty consumer group may become a classic one.
      if (consumerGroup.members.size > 0) return joinError(ErrorCode.INCONSISTENT_GROUP_PROTOCOL, request.memberId)
      this.consumerGroups.forget(consumerGroup)
      return this.consumerGroups.persist(consumerGroup).then(() => joinGroup(this.#membership, request))
    }
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
  commitOffsets(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null, entries: OffsetCommitEntry[], apiVersion = 9): Promise<ErrorCode[]> {
    const consumerGroup = this.consumerGroups.group(groupId)
    if (consumerGroup !== undefined) {
      // The generation of the classic protocol is the member epoch here (OffsetCommit v9+).
      const refusal = this.consumerGroups.validateCommit(consumerGroup, memberId, generationId, apiVersion)
      if (refusal !== ErrorCode.NONE) return Promise.resolve(entries.map(() => refusal))
      return commitOffsets(this.#membership, this.#log, groupId, -1, '', null, entries, true)
    }
    return commitOffsets(this.#membership, this.#log, groupId, generationId, memberId, groupInstanceId, entries)
  }

  /**
   * Whether a transactional offset commit may name this member: a member of the group's current
   * generation, or (generation -1, as before TxnOffsetCommit v3) anyone. NONE or the group's error.
   */
  validateTransactionalCommit(groupId: string, generationId: number, memberId: string, groupInstanceId: string | null): ErrorCode {
    if (groupId === '') return ErrorCode.INVALID_GROUP_ID
    if (generationId < 0) return ErrorCode.NONE
    const consumerGroup = this.consumerGroups.group(groupId)
    // A consumer-protocol member (KIP-848) names its member epoch as the generation.
    if (consumerGroup !== undefined) return this.consumerGroups.validateTransactionalCommit(consumerGroup, memberId, generationId)
    const member = this.#membership.validateMember(this.#membership.group(groupId), memberId, groupInstanceId, generationId)
    return typeof member === 'number' ? member : ErrorCode.NONE
  }

  /** The offsets a committed transaction carried: made visible (and durable) as one commit of the group. */
  commitTransactionalOffsets(groupId: string, offsets: Array<{ topic: string; partition: number; committed: CommittedOffset }>): Promise<void> {
    if (offsets.length === 0) return Promise.resolve()
    // A consumer-protocol group keeps its offsets in the same store; only an unknown group id becomes a classic group.
    if (this.#membership.group(groupId) === undefined && this.consumerGroups.group(groupId) === undefined) this.#membership.create(groupId)
    return this.#offsetStore.commit(groupId, offsets)
  }

  /** The group-level error for an OffsetFetch (v9+) that names a member of a consumer group. */
  validateOffsetFetch(groupId: string, memberId: string | null, memberEpoch: number): ErrorCode {
    const consumerGroup = this.consumerGroups.group(groupId)
    return consumerGroup === undefined ? ErrorCode.NONE : this.consumerGroups.validateFetch(consumerGroup, memberId, memberEpoch)
  }

  fetchOffset(groupId: string, topic: string, partition: number): CommittedOffset | undefined {
    return this.#offsetStore.get(groupId, topic, partition)
  }

  /** Every committed partition of a group: [topic, partition, offset]. */
  committedOffsets(groupId: string): Generator<[string, number, CommittedOffset]> {
    return this.#offsetStore.all(groupId)
  }

  async expireOffsets(nowMs: number): Promise<string[]> {
    return [...await expireOffsets(this.#membership, nowMs), ...await this.consumerGroups.expire(nowMs)]
  }

  /** Transactional ids idle past Kafka's transactional.id.expiration.ms (7 days) are forgotten. */
  expireTransactionalIds(nowMs: number): Promise<string[]> {
    return this.transactions.expireTransactionalIds(nowMs)
  }

  async deleteGroups(groupIds: string[]): Promise<ErrorCode[]> {
    const results: ErrorCode[] = []
    for (const groupId of groupIds) {
      const consumerGroup = this.consumerGroups.group(groupId)
      if (consumerGroup === undefined) {
        results.push(...await deleteGroups(this.#membership, [groupId]))
      } else if (consumerGroup.members.size > 0) {
        results.push(ErrorCode.NON_EMPTY_GROUP)
      } else {
        this.consumerGroups.forget(consumerGroup)
        await this.#offsetStore.delete(groupId)
        await this.consumerGroups.persist(consumerGroup)
        results.push(ErrorCode.NONE)
      }
    }
    return results
  }

  deleteOffsets(groupId: string, partitions: Array<{ topic: string; partition: number }>): Promise<ErrorCode | ErrorCode[]> {
    if (this.consumerGroups.group(groupId) !== undefined) return deleteConsumerGroupOffsets(this.#membership, this.consumerGroups, this.#log, groupId, partitions)
    return deleteOffsets(this.#membership, this.#log, groupId, partitions)
  }

  snapshot(): GroupSnapshot[] {
    return groupSnapshots(this.#membership, this.consumerGroups, this.#log)
  }
}
