// The group admin APIs with real admin clients (kafkajs admin, confluent-kafka AdminClient) and raw
// requests: ListGroups with state and type filters, DescribeGroups, OffsetFetch/OffsetCommit from
// outside the group, DeleteGroups (refused while members are active), OffsetDelete, batched
// FindCoordinator and batched LeaveGroup of static members.
import { AssignerProtocol, Kafka, logLevel, type Admin, type Consumer } from 'kafkajs'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { readDescribeGroupsResponse, writeDescribeGroupsRequest } from '../../src/protocol/generated/describe-groups.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { readFindCoordinatorResponse, writeFindCoordinatorRequest } from '../../src/protocol/generated/find-coordinator.ts'
import { readJoinGroupResponse, writeJoinGroupRequest } from '../../src/protocol/generated/join-group.ts'
import { readLeaveGroupResponse, writeLeaveGroupRequest } from '../../src/protocol/generated/leave-group.ts'
import { readListGroupsResponse, writeListGroupsRequest } from '../../src/protocol/generated/list-groups.ts'
import { readOffsetCommitResponse, writeOffsetCommitRequest } from '../../src/protocol/generated/offset-commit.ts'
import { readOffsetDeleteResponse, writeOffsetDeleteRequest } from '../../src/protocol/generated/offset-delete.ts'
import { startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { pythonJsonLines } from './fixtures/python.ts'
import { RawClient } from './fixtures/raw-client.ts'

const adminScript = 'compat-tests/confluent-kafka-python/group_admin.py'

let broker: Broker
let admin: Admin

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_GROUP_INITIAL_REBALANCE_DELAY_MS: '300', ZOMBI_GROUP_MIN_SESSION_TIMEOUT_MS: '1000' })
  admin = kafka('zombi-e2e-admin').admin()
  await admin.connect()
})

afterAll(async () => {
  await admin?.disconnect()
  await broker?.cleanup()
})

function kafka(clientId: string): Kafka {
  return new Kafka({ clientId, brokers: [broker.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 20, initialRetryTime: 100 } })
}

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

async function confluentAdmin(group: string, op: string, extra: string[] = []): Promise<Record<string, unknown>> {
  const [line] = await pythonJsonLines(adminScript, ['--bootstrap', broker.bootstrap, '--group', group, '--op', op, ...extra])
  return line as Record<string, unknown>
}

/** A kafkajs member that consumes and commits every record; returns the values it read. */
async function member(groupId: string, topic: string, consumed: string[]): Promise<Consumer> {
  const consumer = kafka('zombi-e2e-admin-member').consumer({ groupId, sessionTimeout: 6000, heartbeatInterval: 300, maxWaitTimeInMs: 200 })
  await consumer.connect()
  await consumer.subscribe({ topic, fromBeginning: true })
  await consumer.run({ autoCommitThreshold: 1, eachMessage: async ({ partition, message }) => { consumed.push(`${partition}:${message.offset}`) } })
  return consumer
}

async function committed(groupId: string, topic: string): Promise<string[]> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] })
  return offsets!.partitions.sort((a, b) => a.partition - b.partition).map((p) => p.offset)
}

describe('group admin with kafkajs and confluent-kafka', () => {
  test('list, describe, fetch and set offsets, refuse to delete an active group, then delete it', async () => {
    const topic = uniqueTopic('admin-topic')
    const groupId = `${topic}-g`
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })
    const producer = kafka('zombi-e2e-admin-producer').producer()
    await producer.connect()
    for (const partition of [0, 1]) await producer.send({ topic, acks: -1, messages: Array.from({ length: 5 }, (_, i) => ({ partition, value: `v${i}` })) })
    await producer.disconnect()

    const consumed: string[] = []
    const consumer = await member(groupId, topic, consumed)
    await until('ten records consumed and committed', async () => consumed.length === 10 && (await committed(groupId, topic)).join() === '5,5')

    // Active group, seen by both admin clients.
    expect((await admin.listGroups()).groups).toContainEqual({ groupId, protocolType: 'consumer' })
    const [described] = (await admin.describeGroups([groupId])).groups
    expect(described).toMatchObject({ groupId, state: 'Stable', protocolType: 'consumer', protocol: 'RoundRobinAssigner' })
    expect(described!.members).toHaveLength(1)
    expect(AssignerProtocol.MemberAssignment.decode(described!.members[0]!.memberAssignment)!.assignment).toEqual({ [topic]: [0, 1] })
    expect((await confluentAdmin(groupId, 'list', ['--states', 'STABLE'])).groups).toContainEqual([groupId, 'STABLE', false])
    expect((await confluentAdmin(groupId, 'list', ['--states', 'EMPTY'])).groups).not.toContainEqual(expect.arrayContaining([groupId]))
    expect(await confluentAdmin(groupId, 'describe')).toMatchObject({
      state: 'STABLE', assignor: 'RoundRobinAssigner', simple: false, members: [['zombi-e2e-admin-member', '/127.0.0.1', [[topic, 0], [topic, 1]]]],
    })
    expect(await confluentAdmin(groupId, 'offsets', ['--topic', topic, '--partitions', '0,1'])).toMatchObject({ offsets: [[0, 5], [1, 5]] })

    // Deleting a group with members is refused.
    const refused = await admin.deleteGroups([groupId]).then(() => null, (error: { groups?: Array<{ error?: { type?: string } }> }) => error)
    expect(refused?.groups?.[0]?.error?.type).toBe('NON_EMPTY_GROUP')
    expect(await confluentAdmin(groupId, 'delete')).toMatchObject({ code: 'NON_EMPTY_GROUP' })

    // Once the member is gone, offsets can be set from outside the group, and a new member resumes there.
    await consumer.disconnect()
    await until('the group is empty', async () => (await admin.describeGroups([groupId])).groups[0]!.state === 'Empty')
    expect((await confluentAdmin(groupId, 'list', ['--states', 'EMPTY'])).groups).toContainEqual([groupId, 'EMPTY', false])
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '2' }] })
    expect(await confluentAdmin(groupId, 'alter', ['--topic', topic, '--partitions', '1', '--offset', '3'])).toMatchObject({ offsets: [[1, 3, null]] })
    expect(await committed(groupId, topic)).toEqual(['2', '3'])
    const resumed: string[] = []
    const again = await member(groupId, topic, resumed)
    await until('the resumed member read from the set offsets', () => resumed.length >= 5)
    await again.disconnect()
    expect(resumed.sort()).toEqual(['0:2', '0:3', '0:4', '1:3', '1:4'])

    // Deleting the empty group removes its offsets; a second delete finds nothing.
    expect(await confluentAdmin(groupId, 'delete')).toMatchObject({ deleted: true })
    expect(await committed(groupId, topic)).toEqual(['-1', '-1'])
    const missing = await admin.deleteGroups([groupId]).then(() => null, (error: { groups?: Array<{ error?: { type?: string } }> }) => error)
    expect(missing?.groups?.[0]?.error?.type).toBe('GROUP_ID_NOT_FOUND')
  })
})

describe('group admin over the wire', () => {
  let client: RawClient

  beforeAll(async () => {
    client = await RawClient.connect(broker.host, broker.kafkaPort)
  })

  afterAll(() => client?.close())

  async function simpleCommit(groupId: string, topic: string, partition: number, offset: number): Promise<number> {
    const response = readOffsetCommitResponse(await client.request(ApiKey.OffsetCommit, 8, (w) => writeOffsetCommitRequest(w, 8, {
      groupId, generationIdOrMemberEpoch: -1, memberId: '', groupInstanceId: null, retentionTimeMs: -1,
      topics: [{ name: topic, partitions: [{ partitionIndex: partition, committedOffset: offset, committedLeaderEpoch: -1, commitTimestamp: -1, committedMetadata: null }] }],
    })), 8)
    return response.topics[0]!.partitions[0]!.errorCode
  }

  async function listGroups(statesFilter: string[], typesFilter: string[]): Promise<string[]> {
    const response = readListGroupsResponse(await client.request(ApiKey.ListGroups, 5, (w) => writeListGroupsRequest(w, 5, { statesFilter, typesFilter })), 5)
    expect(response.errorCode).toBe(ErrorCode.NONE)
    return response.groups.map((g) => g.groupId)
  }

  test('OffsetDelete removes offsets of an empty group and names unknown groups and partitions', async () => {
    const topic = uniqueTopic('admin-offset-delete')
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })
    const groupId = `${topic}-g`
    expect(await simpleCommit(groupId, topic, 0, 4)).toBe(ErrorCode.NONE)
    expect(await simpleCommit(groupId, topic, 1, 6)).toBe(ErrorCode.NONE)
    const deleteOffsets = async (group: string, name: string, partitions: number[]) => readOffsetDeleteResponse(await client.request(ApiKey.OffsetDelete, 0, (w) => writeOffsetDeleteRequest(w, 0, {
      groupId: group, topics: [{ name, partitions: partitions.map((partitionIndex) => ({ partitionIndex })) }],
    })), 0)
    const deleted = await deleteOffsets(groupId, topic, [1, 7])
    expect(deleted.errorCode).toBe(ErrorCode.NONE)
    expect(deleted.topics[0]!.partitions.map((p) => [p.partitionIndex, p.errorCode])).toEqual([[1, ErrorCode.NONE], [7, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION]])
    expect(await committed(groupId, topic)).toEqual(['4', '-1'])
    expect((await deleteOffsets(groupId, uniqueTopic('admin-no-such-topic'), [0])).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
    expect((await deleteOffsets(`${groupId}-missing`, topic, [0])).errorCode).toBe(ErrorCode.GROUP_ID_NOT_FOUND)
  })

  test('ListGroups filters by state and type; DescribeGroups reports an unknown group as Dead; FindCoordinator answers batched keys', async () => {
    const groupId = uniqueTopic('admin-simple-group')
    const topic = uniqueTopic('admin-list')
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    expect(await simpleCommit(groupId, topic, 0, 1)).toBe(ErrorCode.NONE)
    expect(await listGroups(['Empty'], [])).toContain(groupId)
    expect(await listGroups(['empty'], ['Classic'])).toContain(groupId)
    expect(await listGroups(['Stable'], [])).not.toContain(groupId)
    expect(await listGroups([], ['consumer'])).toEqual([])

    const described = readDescribeGroupsResponse(await client.request(ApiKey.DescribeGroups, 5, (w) => writeDescribeGroupsRequest(w, 5, {
      groups: [groupId, `${groupId}-missing`], includeAuthorizedOperations: false,
    })), 5)
    expect(described.groups.map((g) => [g.groupId, g.errorCode, g.groupState, g.members.length])).toEqual([
      [groupId, ErrorCode.NONE, 'Empty', 0], [`${groupId}-missing`, ErrorCode.NONE, 'Dead', 0],
    ])

    const coordinators = readFindCoordinatorResponse(await client.request(ApiKey.FindCoordinator, 4, (w) => writeFindCoordinatorRequest(w, 4, {
      key: '', keyType: 0, coordinatorKeys: ['group-a', 'group-b'],
    })), 4)
    expect(coordinators.coordinators.map((c) => [c.key, c.errorCode, c.port])).toEqual([['group-a', 0, broker.kafkaPort], ['group-b', 0, broker.kafkaPort]])
  })

  test('a flood of first joins under a thousand group ids leaves nothing behind once the member ids expire', async () => {
    const prefix = uniqueTopic('flood')
    const flooder = await RawClient.connect(broker.host, broker.kafkaPort)
    try {
      const answers = await Promise.all(Array.from({ length: 1000 }, (_, i) => flooder.request(ApiKey.JoinGroup, 5, (w) => writeJoinGroupRequest(w, 5, {
        groupId: `${prefix}-${i}`, sessionTimeoutMs: 1000, rebalanceTimeoutMs: 1000, memberId: '', groupInstanceId: null, protocolType: 'consumer',
        protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }], reason: null,
      })).then((reader) => readJoinGroupResponse(reader, 5).errorCode)))
      expect(new Set(answers)).toEqual(new Set([ErrorCode.MEMBER_ID_REQUIRED]))
    } finally {
      flooder.close()
    }
    const flooded = async () => (await listGroups([], [])).filter((g) => g.startsWith(prefix)).length
    expect(await flooded()).toBeGreaterThan(0)
    // Nobody comes back with the ids: after the 1 s session timeout the groups are forgotten.
    await until('the flooded groups are gone', async () => (await flooded()) === 0)
  })

  test('JoinGroup with more than 1 MiB of protocol metadata is refused with INVALID_REQUEST on a connection that keeps serving', async () => {
    const join = async (metadata: Buffer) => readJoinGroupResponse(await client.request(ApiKey.JoinGroup, 5, (w) => writeJoinGroupRequest(w, 5, {
      groupId: uniqueTopic('oversized-join'), sessionTimeoutMs: 10_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: null,
      protocolType: 'consumer', protocols: [{ name: 'range', metadata }], reason: null,
    })), 5).errorCode
    expect(await join(Buffer.alloc(2 * 1024 * 1024, 1))).toBe(ErrorCode.INVALID_REQUEST)
    expect(await join(Buffer.from([0, 0, 0, 0, 0, 0]))).toBe(ErrorCode.MEMBER_ID_REQUIRED)
  })

  test('LeaveGroup v3+ removes static members by instance id in one batch', async () => {
    const groupId = uniqueTopic('admin-static-leave')
    const join = (instance: string) => client.request(ApiKey.JoinGroup, 5, (w) => writeJoinGroupRequest(w, 5, {
      groupId, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 10_000, memberId: '', groupInstanceId: instance, protocolType: 'consumer',
      protocols: [{ name: 'range', metadata: Buffer.from([0, 0, 0, 0, 0, 0]) }], reason: null,
    })).then((reader) => readJoinGroupResponse(reader, 5))
    // Both joins are held until the join phase ends, so they go out together.
    const [one, two] = await Promise.all([join('instance-1'), join('instance-2')])
    expect([one.errorCode, two.errorCode]).toEqual([ErrorCode.NONE, ErrorCode.NONE])
    const leave = async (group: string) => readLeaveGroupResponse(await client.request(ApiKey.LeaveGroup, 4, (w) => writeLeaveGroupRequest(w, 4, {
      groupId: group, memberId: '', members: [
        { memberId: '', groupInstanceId: 'instance-1', reason: null },
        { memberId: '', groupInstanceId: 'instance-2', reason: null },
        { memberId: '', groupInstanceId: 'instance-unknown', reason: null },
      ],
    })), 4)
    const left = await leave(groupId)
    expect(left.errorCode).toBe(ErrorCode.NONE)
    expect(left.members.map((m) => [m.groupInstanceId, m.errorCode])).toEqual([
      ['instance-1', ErrorCode.NONE], ['instance-2', ErrorCode.NONE], ['instance-unknown', ErrorCode.UNKNOWN_MEMBER_ID],
    ])
    // The group is gone (no members, no offsets); leaving it again is per-member UNKNOWN_MEMBER_ID, not a group error.
    const again = await leave(groupId)
    expect(again.errorCode).toBe(ErrorCode.NONE)
    expect(again.members.map((m) => m.errorCode)).toEqual([ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID, ErrorCode.UNKNOWN_MEMBER_ID])
  })
})
