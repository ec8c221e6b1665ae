import { createHash, createHmac, randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { ZombiError } from '../../src/errors.ts'
import { makeCredential, passwordMatches, saltPassword, ScramExchange, type ScramCredential, type ScramMechanism } from '../../src/security/scram.ts'

const HASH = { 'SCRAM-SHA-256': 'sha256', 'SCRAM-SHA-512': 'sha512' } as const

/** A SCRAM client written from RFC 5802, to drive the server through whole exchanges. */
async function clientExchange(mechanism: ScramMechanism, server: ScramExchange, user: string, password: string, lookup: (user: string) => Promise<ScramCredential | null>): Promise<Buffer> {
  const clientNonce = randomBytes(18).toString('base64')
  const clientFirstBare = `n=${user.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${clientNonce}`
  const serverFirst = (await server.first(Buffer.from(`n,,${clientFirstBare}`), lookup)).toString()
  const fields = Object.fromEntries(serverFirst.split(',').map((part) => [part[0], part.slice(2)]))
  const salted = await saltPassword(mechanism, password, Buffer.from(fields.s!, 'base64'), Number(fields.i))
  const clientKey = createHmac(HASH[mechanism], salted).update('Client Key').digest()
  const storedKey = createHash(HASH[mechanism]).update(clientKey).digest()
  const withoutProof = `c=biws,r=${fields.r}`
  const signature = createHmac(HASH[mechanism], storedKey).update(`${clientFirstBare},${serverFirst},${withoutProof}`).digest()
  const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!))
  return server.final(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`))
}

function failure(run: () => unknown): Promise<string> {
  return Promise.resolve().then(run).then(() => 'succeeded', (error: unknown) => {
    expect(error).toBeInstanceOf(ZombiError)
    expect((error as ZombiError).code).toBe('SASL_AUTHENTICATION_FAILED')
    return (error as Error).message
  })
}

describe('SCRAM', () => {
  it('follows the SCRAM-SHA-256 example of RFC 7677 byte for byte', async () => {
    const credential = await makeCredential('SCRAM-SHA-256', 'pencil', 4096, Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'))
    const server = new ScramExchange('SCRAM-SHA-256', { serverNonce: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' })
    const first = await server.first(Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'), async (user) => (user === 'user' ? credential : null))
    expect(first.toString()).toBe('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096')
    const final = server.final(Buffer.from('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='))
    expect(final.toString()).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')
    expect(server.user).toBe('user')
  })

  it.each(['SCRAM-SHA-256', 'SCRAM-SHA-512'] as const)('%s: the right password authenticates, a wrong one or an unknown user does not', async (mechanism) => {
    const credential = await makeCredential(mechanism, 'secret, with = signs', 4096)
    const lookup = async (user: string): Promise<ScramCredential | null> => (user === 'al,ice=' ? credential : null)
    const final = await clientExchange(mechanism, new ScramExchange(mechanism), 'al,ice=', 'secret, with = signs', lookup)
    expect(final.toString()).toMatch(/^v=/)
    expect(await failure(() => clientExchange(mechanism, new ScramExchange(mechanism), 'al,ice=', 'wrong', lookup))).toBe('invalid SCRAM credentials')
    // An unknown user goes through the same steps (a decoy salt), so it looks like a wrong password.
    expect(await failure(() => clientExchange(mechanism, new ScramExchange(mechanism), 'mallory', 'secret, with = signs', lookup))).toBe('invalid SCRAM credentials')
  })

  it('refuses malformed, out-of-order and extended messages', async () => {
    const credential = await makeCredential('SCRAM-SHA-256', 'pw', 4096)
    const lookup = async (): Promise<ScramCredential> => credential
    for (const message of ['', 'n,,', 'p=tls-unique,,n=a,r=x', 'n,,n=a', 'n,,r=x,n=a', 'n,,n=a=b,r=x', 'n,,n=a,r=x,tokenauth=true', 'n,a=b,n=a,r=x', 'n,,n=,r=x']) {
      expect(await failure(() => new ScramExchange('SCRAM-SHA-256').first(Buffer.from(message), lookup))).not.toBe('succeeded')
    }
    const exchange = new ScramExchange('SCRAM-SHA-256')
    expect(await failure(() => exchange.final(Buffer.from('c=biws,r=x,p=AAAA')))).toBe('SCRAM message out of order')
    const server = new ScramExchange('SCRAM-SHA-256', { serverNonce: () => 'S' })
    await server.first(Buffer.from('n,,n=a,r=C'), lookup)
    expect(await failure(() => server.final(Buffer.from('c=biws,r=CX,p=AAAA')))).toBe('SCRAM nonce mismatch')
    const binding = new ScramExchange('SCRAM-SHA-256', { serverNonce: () => 'S' })
    await binding.first(Buffer.from('n,,n=a,r=C'), lookup)
    expect(await failure(() => binding.final(Buffer.from('c=eSws,r=CS,p=AAAA')))).toBe('SCRAM channel binding mismatch')
  })

  it('checks a password against a stored credential (PLAIN, HTTP basic auth) without storing it', async () => {
    const credential = await makeCredential('SCRAM-SHA-512', 'hunter2', 4096)
    expect(JSON.stringify(credential)).not.toContain('hunter2')
    expect(await passwordMatches('SCRAM-SHA-512', credential, 'hunter2')).toBe(true)
    expect(await passwordMatches('SCRAM-SHA-512', credential, 'hunter3')).toBe(false)
  })
})

describe('SCRAM as Kafka accepts it', () => {
  it('accepts a final nonce that ends with the server\'s (librdkafka 2.0 sends the client nonce twice), as Kafka does', async () => {
    const credential = await makeCredential('SCRAM-SHA-256', 'pencil', 4096, Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'))
    const server = new ScramExchange('SCRAM-SHA-256', { serverNonce: () => 'S' })
    await server.first(Buffer.from('n,,n=user,r=C'), async () => credential)
    const salted = await saltPassword('SCRAM-SHA-256', 'pencil', credential.salt, 4096)
    const clientKey = createHmac('sha256', salted).update('Client Key').digest()
    const withoutProof = 'c=biws,r=CCS'
    const signature = createHmac('sha256', credential.storedKey).update(`n=user,r=C,r=CS,s=${credential.salt.toString('base64')},i=4096,${withoutProof}`).digest()
    const proof = Buffer.from(clientKey.map((byte, i) => byte ^ signature[i]!))
    expect(server.final(Buffer.from(`${withoutProof},p=${proof.toString('base64')}`)).toString()).toMatch(/^v=/)
  })
})
