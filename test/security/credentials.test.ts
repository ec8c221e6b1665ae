import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { silentLogger } from '../../src/observability/logger.ts'
import { CredentialStore } from '../../src/security/credentials.ts'
import { makeCredential } from '../../src/security/scram.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'

const dir = mkdtempSync(join(tmpdir(), 'zombi-users-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

async function openStore(): Promise<{ store: MemoryHotStore; credentials: CredentialStore }> {
  const store = new MemoryHotStore()
  await store.open()
  const credentials = new CredentialStore(store)
  await credentials.load()
  return { store, credentials }
}

function usersFile(text: string): string {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.txt`)
  writeFileSync(file, text)
  return file
}

describe('ZOMBI_SASL_USERS_FILE', () => {
  it('gives new users SCRAM-SHA-256 and SCRAM-SHA-512 credentials and leaves users who have some alone', async () => {
    const { store, credentials } = await openStore()
    await credentials.change([{ mechanism: 'SCRAM-SHA-512', user: 'bob', credential: await makeCredential('SCRAM-SHA-512', 'changed-by-admin', 4096) }], [])
    const result = await credentials.bootstrap(usersFile('# comment\n\nalice:pa:ss:word\r\nbob:from-file\n'), 4096, silentLogger)
    expect(result).toEqual({ created: ['alice'], kept: ['bob'] })
    // The password is everything after the first colon.
    expect(await credentials.verifyPassword('alice', 'pa:ss:word')).toBe(true)
    expect(await credentials.verifyPassword('bob', 'from-file')).toBe(false)
    expect(await credentials.verifyPassword('bob', 'changed-by-admin')).toBe(true)
    expect([...credentials.users().get('alice')!.map((c) => c.mechanism)]).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512'])
    const again = new CredentialStore(store)
    await again.load()
    expect(await again.verifyPassword('alice', 'pa:ss:word')).toBe(true)
  })

  it('refuses a malformed line by its number, never printing it (it holds a password), and a user named twice', async () => {
    const { credentials } = await openStore()
    const refusal = credentials.bootstrap(usersFile('alice:ok\nno-colon-secret\n'), 4096, silentLogger)
    await expect(refusal).rejects.toThrow(/line 2 is not user:password/)
    await expect(refusal).rejects.not.toThrow(/no-colon-secret/)
    await expect(credentials.bootstrap(usersFile('a:1\na:2\n'), 4096, silentLogger)).rejects.toThrow(/names user a twice/)
    await expect(credentials.bootstrap(join(dir, 'missing.txt'), 4096, silentLogger)).rejects.toThrow(/cannot read ZOMBI_SASL_USERS_FILE/)
  })
})
