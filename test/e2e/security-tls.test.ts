// TLS listeners against real clients: kcat (librdkafka) and confluent-kafka over SSL beside a
// PLAINTEXT listener, each told its own listener's address; mTLS with client certificates made by
// the test; a renewed certificate picked up without dropping connections.
import { copyFileSync, readFileSync } from 'node:fs'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { makeCertificates, type KeyPair, type TestCertificates } from '../support/certificates.ts'
import { logsEventuallyMatch, startBroker, uniqueTopic, type Broker } from './fixtures/broker.ts'
import { kcat, kcatCommonArgs, runKcat } from './fixtures/kcat.ts'
import { runPython } from './fixtures/python.ts'

let certs: TestCertificates
let broker: Broker
/** Its own copy of the broker certificate, replaced by the reload test. */
let served: KeyPair

beforeAll(async () => {
  certs = makeCertificates()
  served = certs.issue('served', '/CN=zombi-first', { serverNames: 'IP:127.0.0.1,DNS:localhost' })
  broker = await startBroker({
    ZOMBI_LISTENERS: 'PLAINTEXT://127.0.0.1:0,SSL://127.0.0.1:0',
    ZOMBI_TLS_CERT_FILE: served.cert, ZOMBI_TLS_KEY_FILE: served.key, ZOMBI_TLS_CA_FILE: certs.caFile,
    ZOMBI_TLS_CLIENT_AUTH: 'requested', ZOMBI_TLS_RELOAD_CHECK_SECS: '1',
    // Asking for client certificates turns authentication on, and with it allow-if-no-ACL off; these tests are about TLS, not ACLs.
    ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'true',
  })
})

afterAll(async () => {
  await broker?.cleanup()
  certs?.cleanup()
})

const ssl = (): string => `127.0.0.1:${broker.listenerPorts.SSL}`
const plaintext = (): string => `127.0.0.1:${broker.listenerPorts.PLAINTEXT}`
const kcatSsl = (): string[] => ['-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${certs.caFile}`]

describe('SSL and PLAINTEXT listeners side by side', () => {
  test('each listener advertises its own address in Metadata', async () => {
    const overSsl = await kcat(['-L', '-b', ssl(), ...kcatSsl(), ...kcatCommonArgs])
    expect(overSsl.stdout.toString()).toContain(`broker 0 at ${ssl()}`)
    const overPlaintext = await kcat(['-L', '-b', plaintext(), ...kcatCommonArgs])
    expect(overPlaintext.stdout.toString()).toContain(`broker 0 at ${plaintext()}`)
  })

  test('kcat produces over SSL and the records are read back over PLAINTEXT and SSL', async () => {
    const topic = uniqueTopic('tls-kcat')
    await kcat(['-P', '-b', ssl(), '-t', topic, ...kcatSsl(), ...kcatCommonArgs], { input: 'one\ntwo\nthree\n' })
    for (const [bootstrap, extra] of [[plaintext(), []], [ssl(), kcatSsl()]] as const) {
      const consumed = await kcat(['-C', '-b', bootstrap, '-t', topic, '-o', 'beginning', '-c', '3', '-e', '-f', '%s\\n', ...extra, ...kcatCommonArgs])
      expect(consumed.stdout.toString()).toBe('one\ntwo\nthree\n')
    }
  })

  test('confluent-kafka produces and consumes over SSL, and with a client certificate (mTLS)', async () => {
    const client = certs.issue('python-client', '/O=Zombi/CN=python-client')
    for (const extra of [[], ['-X', `ssl.certificate.location=${client.cert}`, '-X', `ssl.key.location=${client.key}`]]) {
      const topic = uniqueTopic('tls-python')
      const result = await runPython('compat-tests/confluent-kafka-python/secure_roundtrip.py', [
        '--bootstrap', ssl(), '--topic', topic, '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${certs.caFile}`, ...extra,
      ])
      expect(result.code, result.stderr).toBe(0)
      const lines = result.stdout.toString().trim().split('\n').map((line) => JSON.parse(line) as { type: string; values?: string[] })
      expect(lines.at(-1)).toEqual({ type: 'consumed', values: ['secure-0', 'secure-1', 'secure-2'] })
    }
  })

  test('a client that does not trust the broker\'s CA fails the handshake with librdkafka\'s SSL error', async () => {
    const result = await runKcat(['-L', '-b', ssl(), '-X', 'security.protocol=SSL', '-X', `ssl.ca.location=${certs.issue('stranger-ca', '/CN=x', { untrusted: true }).cert}`, '-m', '5'])
    expect(result.code).not.toBe(0)
    expect(result.stderr).toMatch(/SSL handshake failed|certificate verify failed/)
  })

  test('a client certificate that does not verify is refused even when certificates are only requested', async () => {
    const mallory = certs.issue('mallory', '/CN=mallory', { untrusted: true })
    const result = await runKcat(['-L', '-b', ssl(), ...kcatSsl(), '-X', `ssl.certificate.location=${mallory.cert}`, '-X', `ssl.key.location=${mallory.key}`, '-m', '5'])
    expect(result.code).not.toBe(0)
    await logsEventuallyMatch(broker, /refusing TLS connection: its client certificate does not verify/)
  })

  test('a renewed certificate is served to new connections while an established one keeps working', async () => {
    const connect = (): Promise<tls.TLSSocket> => new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: broker.listenerPorts.SSL!, ca: readFileSync(certs.caFile), servername: 'localhost' }, () => resolve(socket))
      socket.once('error', reject)
    })
    const established = await connect()
    expect(established.getPeerX509Certificate()!.subject).toBe('CN=zombi-first')
    const renewed = certs.issue('renewed', '/CN=zombi-renewed', { serverNames: 'IP:127.0.0.1,DNS:localhost' })
    copyFileSync(renewed.key, served.key)
    copyFileSync(renewed.cert, served.cert)
    // The broker checks the files every second; wait (bounded) until a new connection gets the new certificate.
    let subject = ''
    for (let attempt = 0; attempt < 100 && subject !== 'CN=zombi-renewed'; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 200))
      const probe = await connect()
      subject = probe.getPeerX509Certificate()!.subject
      probe.destroy()
    }
    expect(subject).toBe('CN=zombi-renewed')
    // ApiVersions v0 on the connection opened before the renewal: it is answered.
    const answer = new Promise<Buffer>((resolve, reject) => {
      established.once('data', resolve)
      established.once('close', () => reject(new Error('connection closed')))
    })
    const request = Buffer.alloc(4 + 10)
    request.writeInt32BE(10, 0)
    request.writeInt16BE(18, 4)
    request.writeInt16BE(0, 6)
    request.writeInt32BE(42, 8)
    request.writeInt16BE(-1, 12)
    established.write(request)
    const response = await answer
    expect(response.readInt32BE(4)).toBe(42)
    established.destroy()
    await logsEventuallyMatch(broker, /TLS certificate reloaded/)
  })
})

describe('mTLS required', () => {
  let strict: Broker

  beforeAll(async () => {
    strict = await startBroker({
      ZOMBI_LISTENERS: 'SSL://127.0.0.1:0',
      ZOMBI_TLS_CERT_FILE: certs.broker.cert, ZOMBI_TLS_KEY_FILE: certs.broker.key, ZOMBI_TLS_CA_FILE: certs.caFile, ZOMBI_TLS_CLIENT_AUTH: 'required',
      ZOMBI_SUPER_USERS: 'User:CN=ops,O=Zombi',
    })
  })

  afterAll(async () => {
    await strict?.cleanup()
  })

  test('a client with a certificate of the CA gets in; one without fails the handshake', async () => {
    const client = certs.issue('kcat-client', '/CN=kcat-client')
    const withCertificate = await kcat(['-L', '-b', strict.bootstrap, ...kcatSsl(), '-X', `ssl.certificate.location=${client.cert}`, '-X', `ssl.key.location=${client.key}`, ...kcatCommonArgs])
    expect(withCertificate.stdout.toString()).toContain(`broker 0 at ${strict.bootstrap}`)
    const without = await runKcat(['-L', '-b', strict.bootstrap, ...kcatSsl(), '-m', '5'])
    expect(without.code).not.toBe(0)
    expect(without.stderr).toMatch(/SSL handshake failed|certificate required|Receive failed|Disconnected/i)
    await logsEventuallyMatch(strict, /TLS handshake failed/)
  })

  test('the certificate\'s subject is the principal the ACLs see: a super user by subject writes, another client is refused', async () => {
    const ops = certs.issue('ops', '/O=Zombi/CN=ops')
    const other = certs.issue('other-client', '/O=Zombi/CN=other')
    const topic = uniqueTopic('mtls-acl')
    const asClient = (pair: { cert: string; key: string }): string[] => ['-b', strict.bootstrap, ...kcatSsl(), '-X', `ssl.certificate.location=${pair.cert}`, '-X', `ssl.key.location=${pair.key}`]
    await kcat(['-P', ...asClient(ops), '-t', topic, ...kcatCommonArgs], { input: 'by-ops\n' })
    const refused = await runKcat(['-P', ...asClient(other), '-t', topic, '-m', '10', '-X', 'message.timeout.ms=10000'], { input: 'by-other\n' })
    expect(refused.code).not.toBe(0)
    expect(refused.stderr).toMatch(/Topic authorization failed/i)
  })
})
