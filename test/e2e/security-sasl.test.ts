// SASL listeners against real clients: kcat (librdkafka) and confluent-kafka over SASL_SSL with PLAIN,
// SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER (JWTs signed by the test's key), Apache Kafka's
// kafka-configs (the Java AdminClient) managing SCRAM users and its console producer/consumer over
// SASL_SSL SCRAM; wrong passwords, unknown users and expired tokens fail as the clients report them;
// nothing but ApiVersions and SASL is served before authentication.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { makeCertificates, type TestCertificates } from '../support/certificates.ts'
import { claims, jwks, signingKey, signToken } from '../security/jwt-fixtures.ts'
import { logsEventuallyMatch, startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcat, kcatCommonArgs, runKcat } from './fixtures/kcat.ts'
import { runKafkaTool } from './fixtures/kafka-tools.ts'
import { runPython } from './fixtures/python.ts'
import { RawClient } from './fixtures/raw-client.ts'

let certs: TestCertificates
let broker: Broker
const key = signingKey('RS256', 'zombi-test')

beforeAll(async () => {
  certs = makeCertificates()
  writeFileSync(join(certs.dir, 'users.txt'), '# first users\nadmin:admin-secret\nalice:alice-secret\n')
  writeFileSync(join(certs.dir, 'jwks.json'), jwks(key))
  broker = await startBroker({
    ZOMBI_LISTENERS: 'PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0',
    ZOMBI_TLS_CERT_FILE: certs.broker.cert, ZOMBI_TLS_KEY_FILE: certs.broker.key,
    ZOMBI_SASL_MECHANISMS: 'PLAIN,SCRAM-SHA-256,SCRAM-SHA-512,OAUTHBEARER',
    ZOMBI_SASL_USERS_FILE: join(certs.dir, 'users.txt'),
    ZOMBI_SASL_OAUTHBEARER_JWKS_FILE: join(certs.dir, 'jwks.json'),
    ZOMBI_SASL_OAUTHBEARER_ISSUER: 'https://idp.example', ZOMBI_SASL_OAUTHBEARER_AUDIENCE: 'zombi',
    // These tests are about authentication; security-acls.test.ts is about what ACLs allow.
    ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'true',
  })
})

afterAll(async () => {
  await broker?.cleanup()
  certs?.cleanup()
})

const saslSsl = (): string => `127.0.0.1:${broker.listenerPorts.SASL_SSL}`
const saslPlaintext = (): string => `127.0.0.1:${broker.listenerPorts.SASL_PLAINTEXT}`
const kcatSasl = (mechanism: string, user: string, password: string): string[] => [
  '-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${certs.caFile}`,
  '-X', `sasl.mechanism=${mechanism}`, '-X', `sasl.username=${user}`, '-X', `sasl.password=${password}`,
]

interface Line { type: string; values?: string[]; name?: string; message?: string }

async function pythonRoundtrip(args: string[]): Promise<{ code: number | null; lines: Line[]; stderr: string }> {
  const result = await runPython('compat-tests/confluent-kafka-python/secure_roundtrip.py', ['--timeout', '20', ...args])
  const lines = result.stdout.toString().trim().split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Line)
  return { code: result.code, lines, stderr: result.stderr }
}

describe('SASL_SSL with each mechanism', () => {
  test.each(['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'])('kcat produces and consumes with %s', async (mechanism) => {
    const topic = uniqueTopic(`sasl-kcat-${mechanism}`)
    await kcat(['-P', '-b', saslSsl(), '-t', topic, ...kcatSasl(mechanism, 'alice', 'alice-secret'), ...kcatCommonArgs], { input: 'a\nb\n' })
    const consumed = await kcat(['-C', '-b', saslSsl(), '-t', topic, '-o', 'beginning', '-c', '2', '-e', '-f', '%s\\n', ...kcatSasl(mechanism, 'alice', 'alice-secret'), ...kcatCommonArgs])
    expect(consumed.stdout.toString()).toBe('a\nb\n')
    const metadata = await kcat(['-L', '-b', saslSsl(), ...kcatSasl(mechanism, 'alice', 'alice-secret'), ...kcatCommonArgs])
    expect(metadata.stdout.toString()).toContain(`broker 0 at ${saslSsl()}`)
  })

  test.each([
    ['SCRAM-SHA-512', ['-X', 'sasl.mechanism=SCRAM-SHA-512', '-X', 'sasl.username=alice', '-X', 'sasl.password=alice-secret']],
    ['PLAIN', ['-X', 'sasl.mechanism=PLAIN', '-X', 'sasl.username=admin', '-X', 'sasl.password=admin-secret']],
    ['OAUTHBEARER', ['-X', 'sasl.mechanism=OAUTHBEARER', '--oauth-token', signToken(key, claims({ sub: 'carol' }))]],
  ])('confluent-kafka produces and consumes with %s', async (_mechanism, args) => {
    const { code, lines, stderr } = await pythonRoundtrip(['--bootstrap', saslSsl(), '--topic', uniqueTopic('sasl-python'), '-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${certs.caFile}`, ...args])
    expect(code, stderr).toBe(0)
    expect(lines.at(-1)).toEqual({ type: 'consumed', values: ['secure-0', 'secure-1', 'secure-2'] })
  })

  test('SASL_PLAINTEXT serves SCRAM without TLS', async () => {
    const metadata = await kcat(['-L', '-b', saslPlaintext(), '-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanism=SCRAM-SHA-256', '-X', 'sasl.username=alice', '-X', 'sasl.password=alice-secret', ...kcatCommonArgs])
    expect(metadata.stdout.toString()).toContain(`broker 0 at ${saslPlaintext()}`)
  })
})

describe('refused logins', () => {
  test.each([
    ['a wrong password', 'SCRAM-SHA-256', 'alice', 'wrong'],
    ['an unknown user', 'SCRAM-SHA-512', 'mallory', 'alice-secret'],
    ['a wrong PLAIN password', 'PLAIN', 'alice', 'wrong'],
  ])('%s fails with librdkafka\'s SASL authentication error', async (_what, mechanism, user, password) => {
    const result = await runKcat(['-L', '-b', saslSsl(), ...kcatSasl(mechanism, user, password), '-m', '5'])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/SASL authentication error: Authentication failed/)
    expect(result.stderr).toContain(mechanism)
  })

  test('an expired token and a token of another issuer fail with confluent-kafka\'s authentication error', async () => {
    const now = Math.floor(Date.now() / 1000)
    for (const token of [signToken(key, claims({ exp: now - 600 })), signToken(key, claims({ iss: 'https://evil.example' }))]) {
      const { code, lines } = await pythonRoundtrip(['--bootstrap', saslSsl(), '--topic', uniqueTopic('sasl-expired'), '-X', 'security.protocol=SASL_SSL', '-X', `ssl.ca.location=${certs.caFile}`, '-X', 'sasl.mechanism=OAUTHBEARER', '--oauth-token', token])
      expect(code).toBe(3)
      expect(lines.at(-1)).toMatchObject({ type: 'error', name: '_AUTHENTICATION' })
    }
  })

  test('failed logins are logged with the user and mechanism, never the password', async () => {
    await logsEventuallyMatch(broker, /"user":"mallory".*SASL authentication failed; closing connection/)
    const logs = broker.logs()
    expect(logs).toContain('"user":"mallory"')
    expect(logs).not.toContain('alice-secret')
    expect(logs).not.toContain('admin-secret')
  })

  test('before authentication only ApiVersions and SASL requests are served; anything else closes the connection', async () => {
    const client = await RawClient.connect('127.0.0.1', broker.listenerPorts.SASL_PLAINTEXT!)
    const versions = await client.request(18, 0, () => undefined)
    expect(versions.int16()).toBe(0)
    client.sendRaw(RawClient.frame(3, 1, 7, (w) => w.int32(0)))
    await client.closedPromise
    await logsEventuallyMatch(broker, /request before SASL authentication; closing connection/)
  })
})

describe('SCRAM users managed with Kafka\'s kafka-configs (the Java AdminClient) and used by the Java console clients', () => {
  const adminConfig = (): string => {
    const file = join(certs.dir, 'admin.properties')
    writeFileSync(file, [
      'security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-512', 'ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caFile}`,
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="admin-secret";', '',
    ].join('\n'))
    return file
  }

  test('kafka-configs adds and deletes a user; the new user logs in with kcat and the Java console clients', async () => {
    const config = adminConfig()
    const configs = (args: string[]): ReturnType<typeof runKafkaTool> => runKafkaTool('org.apache.kafka.tools.ConfigCommand', ['--bootstrap-server', saslSsl(), '--command-config', config, ...args])
    const added = await configs(['--alter', '--entity-type', 'users', '--entity-name', 'dave', '--add-config', 'SCRAM-SHA-256=[iterations=8192,password=dave-secret],SCRAM-SHA-512=[password=dave-secret]'])
    expect(added.code, added.stderr).toBe(0)
    // --describe asks for client quotas first (DescribeClientQuotas: Zombi has none), then lists the SCRAM credentials.
    const described = await configs(['--describe', '--entity-type', 'users'])
    expect(described.code, described.stderr).toBe(0)
    expect(described.stdout.toString()).toMatch(/SCRAM credential configs for user-principal 'dave' are SCRAM-SHA-256=iterations=8192, SCRAM-SHA-512=iterations=4096/)
    expect(described.stdout.toString()).toMatch(/SCRAM credential configs for user-principal 'admin' are /)
    expect(described.stdout.toString()).not.toMatch(/Quota configs/)
    // (A quota cannot be set: AlterClientQuotas is not advertised, see test/e2e/bad-input.test.ts, so kafka-configs
    // --add-config producer_byte_rate=… fails with "The node does not support ALTER_CLIENT_QUOTAS".)

    await kcat(['-L', '-b', saslSsl(), ...kcatSasl('SCRAM-SHA-256', 'dave', 'dave-secret'), ...kcatCommonArgs])

    const topic = uniqueTopic('sasl-java')
    const daveConfig = join(certs.dir, 'dave.properties')
    writeFileSync(daveConfig, [
      'security.protocol=SASL_SSL', 'sasl.mechanism=SCRAM-SHA-256', 'ssl.truststore.type=PEM', `ssl.truststore.location=${certs.caFile}`,
      'sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="dave" password="dave-secret";', '',
    ].join('\n'))
    const produced = await runKafkaTool('org.apache.kafka.tools.ConsoleProducer', ['--bootstrap-server', saslSsl(), '--topic', topic, '--command-config', daveConfig], { input: 'java-1\njava-2\n' })
    expect(produced.code, produced.stderr).toBe(0)
    const consumed = await runKafkaTool('org.apache.kafka.tools.consumer.ConsoleConsumer', ['--bootstrap-server', saslSsl(), '--topic', topic, '--from-beginning', '--max-messages', '2', '--command-config', daveConfig, '--timeout-ms', '30000'])
    expect(consumed.code, consumed.stderr).toBe(0)
    expect(consumed.stdout.toString()).toBe('java-1\njava-2\n')

    const deleted = await configs(['--alter', '--entity-type', 'users', '--entity-name', 'dave', '--delete-config', 'SCRAM-SHA-256'])
    expect(deleted.code, deleted.stderr).toBe(0)
    const refused = await runKcat(['-L', '-b', saslSsl(), ...kcatSasl('SCRAM-SHA-256', 'dave', 'dave-secret'), '-m', '5'])
    expect(refused.stderr).toMatch(/SASL authentication error/)
    await kcat(['-L', '-b', saslSsl(), ...kcatSasl('SCRAM-SHA-512', 'dave', 'dave-secret'), ...kcatCommonArgs])
    // Five JVM starts (kafka-configs three times, the console producer and consumer) on a loaded 2-core machine.
  }, 180_000)

  test('kafka-configs refuses fewer than 4096 iterations with the broker\'s error', async () => {
    const result = await runKafkaTool('org.apache.kafka.tools.ConfigCommand', ['--bootstrap-server', saslSsl(), '--command-config', adminConfig(), '--alter', '--entity-type', 'users', '--entity-name', 'erin', '--add-config', 'SCRAM-SHA-256=[iterations=1000,password=x]'])
    expect(`${result.stdout.toString()}${result.stderr}`).toMatch(/iterations/i)
    expect(result.code).not.toBe(0)
  })
})
