// A SASL listener on the wire: the gate before authentication, raw tokens after a v0 handshake,
// session lifetimes and re-authentication (KIP-368), the close after a failure.
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/observability/logger.ts'
import { ApiKey } from '../../src/protocol/generated/api-keys.ts'
import { ErrorCode } from '../../src/protocol/generated/errors.ts'
import { readSaslAuthenticateResponse } from '../../src/protocol/generated/sasl-authenticate.ts'
import { readSaslHandshakeResponse } from '../../src/protocol/generated/sasl-handshake.ts'
import type { SaslServices } from '../../src/security/sasl-session.ts'
import { RawClient } from '../e2e/fixtures/raw-client.ts'
import { startInProcessKafka, type InProcessKafka } from './fixtures/in-process-kafka.ts'

const opened: InProcessKafka[] = []
afterEach(async () => {
  for (const kafka of opened.splice(0)) await kafka.close()
})

async function saslKafka(overrides: Partial<Omit<SaslServices, 'credentials'>> = {}): Promise<InProcessKafka> {
  const kafka = await startInProcessKafka({
    sasl: { mechanisms: ['PLAIN', 'SCRAM-SHA-256'], jwt: null, sessionLifetimeMs: 0, failedAuthenticationDelayMs: 0, logger: silentLogger, ...overrides },
    users: { alice: 'alice-secret', bob: 'bob-secret' },
  })
  opened.push(kafka)
  return kafka
}

const plain = (user: string, password: string): Buffer => Buffer.from(`\u0000${user}\u0000${password}`)

async function handshake(client: RawClient, mechanism: string, version = 1): Promise<number> {
  return readSaslHandshakeResponse(await client.request(ApiKey.SaslHandshake, version, (w) => w.string(mechanism)), version).errorCode
}

async function authenticate(client: RawClient, token: Buffer, version = 2): Promise<{ errorCode: number; sessionLifetimeMs: number }> {
  const reader = await client.request(ApiKey.SaslAuthenticate, version, (w) => {
    if (version >= 2) {
      w.compactBytes(token)
      w.emptyTaggedFields()
    }
    else w.bytes(token)
  })
  return readSaslAuthenticateResponse(reader, version)
}

async function metadataAnswered(client: RawClient): Promise<boolean> {
  return client.request(ApiKey.Metadata, 1, (w) => w.int32(0)).then(() => true, () => false)
}

describe('SASL listener', () => {
  it('serves ApiVersions and SASL before authentication and everything once authenticated', async () => {
    const kafka = await saslKafka()
    const client = await RawClient.connect('127.0.0.1', kafka.port)
    expect((await client.request(ApiKey.ApiVersions, 0, () => undefined)).int16()).toBe(ErrorCode.NONE)
    expect(await handshake(client, 'PLAIN')).toBe(ErrorCode.NONE)
    expect(await authenticate(client, plain('alice', 'alice-secret'))).toMatchObject({ errorCode: ErrorCode.NONE, sessionLifetimeMs: 0 })
    expect(await metadataAnswered(client)).toBe(true)
    client.close()
  })

  it.each([ApiKey.Metadata, ApiKey.Produce, ApiKey.DescribeUserScramCredentials])('closes a connection that sends api key %i before authenticating', async (apiKey) => {
    const kafka = await saslKafka()
    const client = await RawClient.connect('127.0.0.1', kafka.port)
    client.sendRaw(RawClient.frame(apiKey, 0, 1, (w) => w.int32(0)))
    await client.closedPromise
    expect(client.closed).toBe(true)
  })

  it('answers a failed login, then closes the connection', async () => {
    const kafka = await saslKafka()
    const client = await RawClient.connect('127.0.0.1', kafka.port)
    await handshake(client, 'PLAIN')
    expect((await authenticate(client, plain('alice', 'wrong'))).errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED)
    await client.closedPromise
    const unsupported = await RawClient.connect('127.0.0.1', kafka.port)
    expect(await handshake(unsupported, 'GSSAPI')).toBe(ErrorCode.UNSUPPORTED_SASL_MECHANISM)
    await unsupported.closedPromise
  })

  it('carries the exchange in raw size-prefixed tokens after a v0 handshake', async () => {
    const kafka = await saslKafka()
    const client = await RawClient.connect('127.0.0.1', kafka.port)
    expect(await handshake(client, 'PLAIN', 0)).toBe(ErrorCode.NONE)
    const token = plain('bob', 'bob-secret')
    const size = Buffer.alloc(4)
    size.writeInt32BE(token.length)
    const reply = client.nextFrame()
    client.sendRaw(Buffer.concat([size, token]))
    expect((await reply).length).toBe(0)
    expect(await metadataAnswered(client)).toBe(true)
    client.close()
  })

  it('tells the session lifetime, lets the same user re-authenticate on the connection, and refuses another user', async () => {
    const kafka = await saslKafka({ sessionLifetimeMs: 3_600_000 })
    const client = await RawClient.connect('127.0.0.1', kafka.port)
    await handshake(client, 'PLAIN')
    expect((await authenticate(client, plain('alice', 'alice-secret'), 1)).sessionLifetimeMs).toBe(3_600_000)
    expect(await handshake(client, 'PLAIN')).toBe(ErrorCode.NONE)
    expect((await authenticate(client, plain('alice', 'alice-secret'))).errorCode).toBe(ErrorCode.NONE)
    expect(await metadataAnswered(client)).toBe(true)
    expect(await handshake(client, 'PLAIN')).toBe(ErrorCode.NONE)
    expect((await authenticate(client, plain('bob', 'bob-secret'))).errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED)
    await client.closedPromise
  })

  it('closes a connection whose session has expired at its next request, unless it re-authenticates', async () => {
    const kafka = await saslKafka({ sessionLifetimeMs: 1 })
    const client = await RawClient.connect('127.0.0.1', kafka.port)
    await handshake(client, 'PLAIN')
    expect((await authenticate(client, plain('alice', 'alice-secret'))).sessionLifetimeMs).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 20))
    // Re-authentication is still allowed after expiry; anything else is not.
    expect(await handshake(client, 'PLAIN')).toBe(ErrorCode.NONE)
    expect((await authenticate(client, plain('alice', 'alice-secret'))).errorCode).toBe(ErrorCode.NONE)
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(await metadataAnswered(client)).toBe(false)
    expect(client.closed).toBe(true)
  })

  it('answers SASL requests on a listener without SASL with ILLEGAL_SASL_STATE', async () => {
    const kafka = await startInProcessKafka()
    opened.push(kafka)
    const client = await RawClient.connect('127.0.0.1', kafka.port)
    expect(await handshake(client, 'PLAIN')).toBe(ErrorCode.ILLEGAL_SASL_STATE)
    expect((await authenticate(client, plain('alice', 'x'))).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE)
    expect(await metadataAnswered(client)).toBe(true)
    client.close()
  })

  it('never serves a client whose SASL frames are arbitrary bytes, whatever the mechanism and version', async () => {
    const kafka = await saslKafka()
    await fc.assert(fc.asyncProperty(
      fc.constantFrom('PLAIN', 'SCRAM-SHA-256'), fc.constantFrom(0, 1, 2), fc.array(fc.uint8Array({ maxLength: 64 }), { minLength: 1, maxLength: 3 }),
      async (mechanism, version, tokens) => {
        const client = await RawClient.connect('127.0.0.1', kafka.port)
        try {
          if (await handshake(client, mechanism).catch(() => -1) !== ErrorCode.NONE) return
          for (const token of tokens) {
            const result = await authenticate(client, Buffer.from(token), version).catch(() => null)
            if (result === null || result.errorCode !== ErrorCode.NONE) break
          }
          expect(await metadataAnswered(client)).toBe(false)
        } finally {
          client.close()
        }
      },
    ), { numRuns: 60, seed: 1919 })
  })
})
