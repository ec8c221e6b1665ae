// The registry behind the REST door: what SchemaLookup promises (by id, latest, versions, references),
// durability across a reopen of the disk store, ids never given twice, and its limits.
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { hasCode } from '../../src/errors.ts'
import { silentLogger } from '../../src/observability/logger.ts'
import { SchemaRegistry, type SchemaInput } from '../../src/schema/registry.ts'
import { DiskHotStore } from '../../src/storage/disk-store.ts'
import { MemoryHotStore } from '../../src/storage/memory-store.ts'

const limits = { maxVersions: 100, maxBytes: 1 << 20 }
const avro = (schema: object): SchemaInput => ({ schema: JSON.stringify(schema), schemaType: 'AVRO', references: [] })
const user = (fields: object[]) => avro({ type: 'record', name: 'User', fields })
const v1 = user([{ name: 'name', type: 'string' }])
const v2 = user([{ name: 'name', type: 'string' }, { name: 'age', type: 'int', default: 0 }])

let dir: string

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'zombi-registry-'))
})

afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

async function openDisk(): Promise<{ store: DiskHotStore; registry: SchemaRegistry }> {
  const store = new DiskHotStore({ dir, durability: 'fsync' })
  await store.open()
  return { store, registry: await SchemaRegistry.open(store, limits, silentLogger) }
}

describe('SchemaRegistry', () => {
  it('answers SchemaLookup: by id, latest live version, any version', async () => {
    const store = new MemoryHotStore()
    await store.open()
    const registry = await SchemaRegistry.open(store, limits, silentLogger)
    expect(await registry.register('users-value', v1, undefined)).toEqual({ id: 1, version: 1 })
    expect(await registry.register('users-value', v1, undefined)).toEqual({ id: 1, version: 1 })
    expect(await registry.register('users-value', v2, undefined)).toEqual({ id: 2, version: 2 })
    expect(await registry.register('other', v1, undefined)).toEqual({ id: 1, version: 1 })
    expect(registry.byId(2)).toEqual({ id: 2, schemaType: 'AVRO', schema: v2.schema, references: [] })
    expect(registry.byId(3)).toBeUndefined()
    expect(registry.latest('users-value')).toMatchObject({ subject: 'users-value', version: 2, id: 2 })
    await registry.deleteVersion('users-value', '2', false)
    expect(registry.latest('users-value')).toMatchObject({ version: 1 })
    // Soft-deleted versions still answer version(): old records still decode.
    expect(registry.version('users-value', 2)).toMatchObject({ id: 2 })
    expect(registry.latest('nobody')).toBeUndefined()
  })

  it('resolves references transitively, dependencies first, keyed by reference name', async () => {
    const store = new MemoryHotStore()
    await store.open()
    const registry = await SchemaRegistry.open(store, limits, silentLogger)
    await registry.register('zip', avro({ type: 'fixed', name: 'com.x.Zip', size: 5 }), undefined)
    const address = { schema: JSON.stringify({ type: 'record', name: 'com.x.Address', fields: [{ name: 'zip', type: 'com.x.Zip' }] }), schemaType: 'AVRO' as const, references: [{ name: 'com.x.Zip', subject: 'zip', version: 1 }] }
    await registry.register('address', address, undefined)
    const person = { schema: JSON.stringify({ type: 'record', name: 'com.x.Person', fields: [{ name: 'home', type: 'com.x.Address' }] }), schemaType: 'AVRO' as const, references: [{ name: 'com.x.Address', subject: 'address', version: -1 }] }
    const { id } = await registry.register('person', person, undefined)
    const stored = registry.byId(id)!
    // -1 (latest) is stored as the version it named then.
    expect(stored.references).toEqual([{ name: 'com.x.Address', subject: 'address', version: 1 }])
    expect([...registry.resolveReferences(stored).keys()]).toEqual(['com.x.Zip', 'com.x.Address'])
    expect(() => registry.resolveReferences({ ...stored, references: [{ name: 'x', subject: 'gone', version: 1 }] })).toThrow(/does not exist/)
  })

  it('keeps every acknowledged change across a reopen of the disk store, and never gives an id twice', async () => {
    let { store, registry } = await openDisk()
    await registry.register('a', v1, undefined)
    await registry.register('a', v2, undefined)
    await registry.register('b', avro({ type: 'enum', name: 'E', symbols: ['X'] }), undefined)
    await registry.setConfig('a', { compatibility: 'FULL' })
    await registry.setConfig(null, { compatibility: 'NONE' })
    await registry.deleteSubject('b', false)
    await registry.deleteSubject('b', true)
    await registry.deleteVersion('a', '2', false)
    await store.close()

    ;({ store, registry } = await openDisk())
    expect(registry.subjects(true)).toEqual(['a'])
    expect(registry.versions('a', true)).toEqual([1, 2])
    expect(registry.versions('a', false)).toEqual([1])
    expect(registry.byId(3)).toBeUndefined()
    expect(registry.config('a', false).compatibility).toBe('FULL')
    expect(registry.config(null, false).compatibility).toBe('NONE')
    // Id 3 went with subject b: a new schema gets 4, also after the restart.
    expect(await registry.register('c', avro({ type: 'enum', name: 'E', symbols: ['X'] }), undefined)).toEqual({ id: 4, version: 1 })
    // The same schema as a soft-deleted version: a new version, the same id.
    expect(await registry.register('a', v2, undefined)).toEqual({ id: 2, version: 3 })
    await store.close()
  })

  it('refuses registrations past its limits, and one schema over 1 MiB', async () => {
    const store = new MemoryHotStore()
    await store.open()
    const registry = await SchemaRegistry.open(store, { maxVersions: 2, maxBytes: 100 }, silentLogger)
    await registry.register('a', v1, undefined)
    const tooMany = await registry.register('b', user([{ name: 'x', type: 'int' }]), undefined).then(() => null, (error: unknown) => error)
    expect(hasCode(tooMany, 'REGISTRY_NOT_PERMITTED')).toBe(true)
    expect(String(tooMany)).toMatch(/ZOMBI_SCHEMA_REGISTRY_MAX_MB/)
    await registry.register('b', v1, undefined)
    const full = await registry.register('c', v1, undefined).then(() => null, (error: unknown) => error)
    expect(String(full)).toMatch(/maximum of 2 schema versions/)
    const huge = await registry.register('d', avro({ type: 'record', name: 'H', doc: 'x'.repeat(1 << 20), fields: [] }), undefined).then(() => null, (error: unknown) => error)
    expect(hasCode(huge, 'REGISTRY_INVALID_SCHEMA')).toBe(true)
    expect(registry.stats.refusals.get('42205')).toBe(2)
  })

  it('refuses a change the store could not keep, and changes nothing', async () => {
    const store = new MemoryHotStore()
    await store.open()
    const registry = await SchemaRegistry.open(store, limits, silentLogger)
    await store.close()
    const failed = await registry.register('a', v1, undefined).then(() => null, (error: unknown) => error)
    expect(hasCode(failed, 'REGISTRY_STORE_ERROR')).toBe(true)
    expect(registry.subjects(true)).toEqual([])
    expect(registry.byId(1)).toBeUndefined()
  })
})
