import { copyFileSync, readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import tls from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/observability/logger.ts'
import { presentedUnverifiedCertificate, rfc2253, tlsPrincipal, TlsCredentials, type ClientAuth } from '../../src/security/tls.ts'
import { makeCertificates, type KeyPair, type TestCertificates } from '../support/certificates.ts'

let certs: TestCertificates

beforeAll(() => {
  certs = makeCertificates()
})

afterAll(() => certs?.cleanup())

interface Seen {
  principal: string | null
  unverified: boolean
}

/** A TLS server over `credentials` that records what it saw of each client and echoes bytes. */
async function serve(credentials: TlsCredentials): Promise<{ port: number; seen: Seen[]; close(): Promise<void> }> {
  const seen: Seen[] = []
  const server = tls.createServer(credentials.serverOptions(), (socket) => {
    seen.push({ principal: tlsPrincipal(socket), unverified: presentedUnverifiedCertificate(socket) })
    socket.on('error', () => undefined)
    socket.pipe(socket)
  })
  const unsubscribe = credentials.subscribe(() => server.setSecureContext(credentials.serverOptions()))
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: (server.address() as AddressInfo).port, seen,
    close: () => {
      unsubscribe()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}

function connect(port: number, client?: KeyPair, options: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: '127.0.0.1', port, ca: readFileSync(certs.caFile), servername: 'localhost',
      ...(client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) }), ...options,
    }, () => resolve(socket))
    socket.once('error', reject)
  })
}

/** Whether the server still talks on `socket` after the handshake (a refused client is closed right away). */
function echoes(socket: tls.TLSSocket): Promise<boolean> {
  return new Promise((resolve) => {
    socket.once('data', () => resolve(true))
    socket.once('close', () => resolve(false))
    socket.once('error', () => resolve(false))
    socket.write('ping')
  })
}

function credentials(clientAuth: ClientAuth, broker: KeyPair = certs.broker): TlsCredentials {
  return new TlsCredentials({ certFile: broker.cert, keyFile: broker.key, caFile: certs.caFile, clientAuth, reloadCheckMs: 60_000 }, silentLogger)
}

describe('TLS credentials', () => {
  it('writes subjects in RFC 2253 order, as Kafka\'s default principal builder does', () => {
    expect(rfc2253('C=US\nO=Acme\\, Inc\nL=x + OU=eng\nCN=alice')).toBe('CN=alice,L=x+OU=eng,O=Acme\\, Inc,C=US')
  })

  it('makes a verified client certificate\'s subject the principal', async () => {
    const alice = certs.issue('alice', '/C=US/O=Acme/CN=alice')
    const server = await serve(credentials('required'))
    const socket = await connect(server.port, alice)
    expect(await echoes(socket)).toBe(true)
    socket.destroy()
    await server.close()
    expect(server.seen).toEqual([{ principal: 'User:CN=alice,O=Acme,C=US', unverified: false }])
  })

  it('with client auth required, refuses a client without a certificate or with one of another CA', async () => {
    const mallory = certs.issue('mallory', '/CN=mallory', { untrusted: true })
    const server = await serve(credentials('required'))
    for (const client of [undefined, mallory]) {
      const outcome = await connect(server.port, client).then(echoes, () => false)
      expect(outcome).toBe(false)
    }
    await server.close()
    expect(server.seen).toEqual([])
  })

  it('with client auth requested, lets a client without a certificate in anonymously and marks an unverified one', async () => {
    const mallory = certs.issue('mallory2', '/CN=mallory', { untrusted: true })
    const server = await serve(credentials('requested'))
    const anonymous = await connect(server.port)
    expect(await echoes(anonymous)).toBe(true)
    anonymous.destroy()
    const unverified = await connect(server.port, mallory)
    // This test server echoes to anyone; the broker's listener closes such a client (presentedUnverifiedCertificate).
    expect(await echoes(unverified)).toBe(true)
    unverified.destroy()
    await server.close()
    expect(server.seen).toEqual([{ principal: null, unverified: false }, { principal: null, unverified: true }])
  })

  it('refuses TLS below 1.2', async () => {
    const server = await serve(credentials('none'))
    await expect(connect(server.port, undefined, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' })).rejects.toThrow()
    await server.close()
  })

  it('serves a renewed certificate to new connections while established ones carry on, and keeps the old one when the new files do not load', async () => {
    const first = certs.issue('served', '/CN=first', { serverNames: 'IP:127.0.0.1,DNS:localhost' })
    const tlsFiles = credentials('none', first)
    const server = await serve(tlsFiles)
    const before = await connect(server.port)
    expect(before.getPeerX509Certificate()!.subject).toBe('CN=first')

    // Half a renewal: a new certificate next to the old key does not load, so the old pair is kept.
    const second = certs.issue('renewed', '/CN=second', { serverNames: 'IP:127.0.0.1,DNS:localhost' })
    copyFileSync(second.cert, first.cert)
    expect(tlsFiles.reload()).toBe(false)
    const during = await connect(server.port)
    expect(during.getPeerX509Certificate()!.subject).toBe('CN=first')
    during.destroy()

    copyFileSync(second.key, first.key)
    expect(tlsFiles.reload()).toBe(true)
    const after = await connect(server.port)
    expect(after.getPeerX509Certificate()!.subject).toBe('CN=second')
    expect(await echoes(before)).toBe(true)
    before.destroy()
    after.destroy()
    await server.close()
  })

  it('refuses, at start, files that do not load', () => {
    const other = certs.issue('other', '/CN=other')
    expect(() => new TlsCredentials({ certFile: certs.broker.cert, keyFile: other.key, caFile: null, clientAuth: 'none', reloadCheckMs: 1000 }, silentLogger))
      .toThrow(/do not load/)
    expect(() => new TlsCredentials({ certFile: '/nonexistent/cert.pem', keyFile: other.key, caFile: null, clientAuth: 'none', reloadCheckMs: 1000 }, silentLogger))
      .toThrow(/cannot read the TLS certificate/)
  })
})
