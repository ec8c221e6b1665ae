// ACLs against real clients: Apache Kafka's kafka-acls (the Java AdminClient) adds, lists and removes
// them; kcat and confluent-kafka, authenticated with SCRAM over SASL_SSL, are refused what the ACLs
// do not allow (with the clients' usual authorization errors) and served what they allow; a super
// user may do everything; the ACLs survive a restart.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { makeCertificates, type TestCertificates } from '../support/certificates.ts'
import { repoRoot, startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcat, kcatCommonArgs, runKcat } from './fixtures/kcat.ts'
import { runJavaSource, runKafkaTool } from './fixtures/kafka-tools.ts'
import { runPython } from './fixtures/python.ts'

let certs: TestCertificates
let broker: Broker
let adminConfig: string
const prefix = uniqueTopic('acl')

beforeAll(async () => {
  certs = makeCertificates()
  writeFileSync(join(certs.dir, 'users.txt'), 'admin:admin-secret\nalice:alice-secret\nbob:bob-secret\n')
  adminConfig = join(certs.dir, 'admin.properties')
  writeFileSync(adminConfig, [
    'security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-256', 'ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caFile}`,
    'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";', '',
  ].join('\n'))
  broker = await startBroker({
    ZOMBI_LISTENERS: 'SASL_SSL://127.0.0.1:0',
    ZOMBI_TLS_CERT_FILE: certs.broker.cert, ZOMBI_TLS_KEY_FILE: certs.broker.key,
    ZOMBI_SASL_USERS_FILE: join(certs.dir, 'users.txt'),
    ZOMBI_SUPER_USERS: 'User:admin',
  })
})

afterAll(async () => {
  await broker?.cleanup()
  certs?.cleanup()
})

const as = (user: string): string[] => [
  '-b', broker.bootstrap, '-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${certs.caFile}`,
  '-X', 'sasl.mechanism=SCRAM-SHA-256', '-X', `sasl.username=${user}`, '-X', `sasl.password=${user}-secret`,
]

function acls(args: string[]): ReturnType<typeof runKafkaTool> {
  return runKafkaTool('org.apache.kafka.tools.AclCommand', ['--bootstrap-server', broker.bootstrap, '--command-config', adminConfig, ...args])
}

async function produce(user: string, topic: string, input: string): Promise<{ code: number | null; stderr: string }> {
  return runKcat(['-P', ...as(user), '-t', topic, '-m', '10', '-X', 'message.timeout.ms=10000'], { input })
}

async function consume(user: string, topic: string, count: number, extra: string[] = []): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const result = await runKcat(['-C', ...as(user), '-t', topic, '-o', 'beginning', '-c', String(count), '-e', '-f', '%s\\n', '-m', '10', ...extra], { timeoutMs: 60_000 })
  return { code: result.code, stdout: result.stdout.toString(), stderr: result.stderr }
}

describe('ACLs with kafka-acls, kcat and confluent-kafka', () => {
  const topic = `${prefix}-orders`

  test('with no ACL, authenticated users are refused (allow.everyone.if.no.acl.found is off once clients authenticate); the super user is not', async () => {
    const denied = await produce('alice', topic, 'x\n')
    expect(denied.code).not.toBe(0)
    expect(denied.stderr).toMatch(/Topic authorization failed/i)
    await kcat(['-P', ...as('admin'), '-t', topic, ...kcatCommonArgs], { input: 'from-admin\n' })
    const listing = await kcat(['-L', ...as('bob'), ...kcatCommonArgs])
    expect(listing.stdout.toString()).toContain('0 topics')
  })

  test('kafka-acls grants alice WRITE on a prefix; she produces there and nowhere else, and may not read', async () => {
    const added = await acls(['--add', '--allow-principal', 'User:alice', '--operation', 'Write', '--topic', prefix, '--resource-pattern-type', 'prefixed'])
    expect(added.code, added.stderr).toBe(0)
    const listed = await acls(['--list', '--topic', prefix, '--resource-pattern-type', 'prefixed'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout.toString()).toMatch(/principal=User:alice, host=\*, operation=WRITE, permissionType=ALLOW/)

    const written = await produce('alice', topic, 'a1\na2\n')
    expect(written.code, written.stderr).toBe(0)
    const elsewhere = await produce('alice', uniqueTopic('not-granted'), 'x\n')
    expect(elsewhere.stderr).toMatch(/Topic authorization failed/i)
    const read = await consume('alice', topic, 1)
    expect(read.code).not.toBe(0)
    expect(read.stderr).toMatch(/Topic authorization failed/i)
    // WRITE implies DESCRIBE: the topic shows in her Metadata, and only that one.
    const listing = await kcat(['-L', ...as('alice'), ...kcatCommonArgs])
    expect(listing.stdout.toString()).toContain(`topic "${topic}"`)
    expect(listing.stdout.toString()).toContain('1 topics')
  })

  test('READ on the topic and the group lets alice consume in a group; without the group ACL she gets the group error', async () => {
    await acls(['--add', '--allow-principal', 'User:alice', '--operation', 'Read', '--topic', topic])
    const simple = await consume('alice', topic, 3)
    expect(simple.code, simple.stderr).toBe(0)
    expect(simple.stdout).toBe('from-admin\na1\na2\n')
    const group = `${prefix}-group`
    const refused = await runKcat(['-G', group, ...as('alice'), '-o', 'beginning', '-c', '1', '-e', '-m', '10', '-X', 'auto.offset.reset=earliest', topic], { timeoutMs: 60_000 })
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/Group authorization failed/i)
    await acls(['--add', '--allow-principal', 'User:alice', '--operation', 'Read', '--group', group])
    const inGroup = await runKcat(['-G', group, ...as('alice'), '-c', '3', '-e', '-f', '%s\\n', '-m', '10', '-X', 'auto.offset.reset=earliest', topic], { timeoutMs: 60_000 })
    expect(inGroup.code, inGroup.stderr).toBe(0)
    expect(inGroup.stdout.toString()).toBe('from-admin\na1\na2\n')
  })

  test('a DENY wins over an ALLOW', async () => {
    const added = await acls(['--add', '--deny-principal', 'User:alice', '--operation', 'Write', '--topic', topic])
    expect(added.code, added.stderr).toBe(0)
    const denied = await produce('alice', topic, 'no\n')
    expect(denied.stderr).toMatch(/Topic authorization failed/i)
    const removed = await acls(['--remove', '--force', '--deny-principal', 'User:alice', '--operation', 'Write', '--topic', topic])
    expect(removed.code, removed.stderr).toBe(0)
    expect((await produce('alice', topic, 'yes\n')).code).toBe(0)
  })

  test('the Java AdminClient reports the operations the ACLs give alice and every operation to the super user (KIP-430)', async () => {
    const result = await runJavaSource(join(repoRoot, 'test/e2e/fixtures/java/AuthorizedOperations.java'), [
      broker.bootstrap, certs.caFile, 'SCRAM-SHA-256', topic, `${prefix}-group`, 'alice:alice-secret', 'admin:admin-secret',
    ])
    expect(result.code, `${result.stdout.toString()}${result.stderr}`).toBe(0)
    const [alice, admin] = result.stdout.toString().trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>)
    // WRITE (prefixed) and READ on the topic, each implying DESCRIBE; nothing on the cluster; READ on the group.
    expect(alice).toEqual({ user: 'alice', topic: ['DESCRIBE', 'READ', 'WRITE'], cluster: [], group: ['DESCRIBE', 'READ'] })
    expect(admin).toEqual({
      user: 'admin',
      topic: ['ALTER', 'ALTER_CONFIGS', 'CREATE', 'DELETE', 'DESCRIBE', 'DESCRIBE_CONFIGS', 'READ', 'WRITE'],
      cluster: ['ALTER', 'ALTER_CONFIGS', 'CLUSTER_ACTION', 'CREATE', 'DESCRIBE', 'DESCRIBE_CONFIGS', 'IDEMPOTENT_WRITE'],
      group: ['DELETE', 'DESCRIBE', 'READ'],
    })
  })

  test('confluent-kafka gets TOPIC_AUTHORIZATION_FAILED for a denied topic', async () => {
    const result = await runPython('compat-tests/confluent-kafka-python/secure_roundtrip.py', [
      '--bootstrap', broker.bootstrap, '--topic', uniqueTopic('python-denied'), '--timeout', '15',
      '-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${certs.caFile}`, '-X', 'sasl.mechanism=SCRAM-SHA-256', '-X', 'sasl.username=bob', '-X', 'sasl.password=bob-secret',
    ])
    expect(result.code).toBe(3)
    expect(result.stdout.toString()).toMatch(/"name":"TOPIC_AUTHORIZATION_FAILED"/)
  })

  test('only cluster ALTER may manage ACLs, and the ACLs survive a restart', async () => {
    const bobConfig = join(certs.dir, 'bob.properties')
    writeFileSync(bobConfig, [
      'security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-256', 'ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caFile}`,
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="bob" password="bob-secret";', '',
    ].join('\n'))
    const refused = await runKafkaTool('org.apache.kafka.tools.AclCommand', ['--bootstrap-server', broker.bootstrap, '--command-config', bobConfig, '--add', '--allow-principal', 'User:bob', '--operation', 'All', '--topic', '*'])
    expect(`${refused.stdout.toString()}${refused.stderr}`).toMatch(/ClusterAuthorizationException|Cluster authorization failed/)

    await broker.restart()
    const listed = await acls(['--list'])
    expect(listed.code, listed.stderr).toBe(0)
    expect(listed.stdout.toString()).toMatch(/principal=User:alice, host=\*, operation=READ, permissionType=ALLOW/)
    expect((await produce('alice', topic, 'after-restart\n')).code).toBe(0)
  })
})
