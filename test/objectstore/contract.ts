// The object-store contract, run against every implementation (local files, memory, S3 on moto).
import { describe, expect, test } from 'vitest'
import type { ObjectStore } from '../../src/objectstore/object-store.ts'

export function objectStoreContract(name: string, open: () => Promise<ObjectStore>): void {
  describe(`${name} object store contract`, () => {
    test('put then get returns the bytes; a missing key reads as null', async () => {
      const store = await open()
      await store.put('a/b/c.bin', Buffer.from([1, 2, 3]))
      expect(await store.get('a/b/c.bin')).toEqual(Buffer.from([1, 2, 3]))
      expect(await store.get('a/b/missing')).toBeNull()
      expect(await store.exists('a/b/c.bin')).toBe(true)
      expect(await store.exists('a/b')).toBe(false)
    })

    test('put overwrites', async () => {
      const store = await open()
      await store.put('k', Buffer.from('one'))
      await store.put('k', Buffer.from('two'))
      expect((await store.get('k'))!.toString()).toBe('two')
    })

    test('putIfAbsent creates once: of racing creates exactly one wins and its bytes stay', async () => {
      const store = await open()
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => store.putIfAbsent('t/metadata/v1.metadata.json', Buffer.from(`writer ${i}`))))
      expect(results.filter(Boolean)).toHaveLength(1)
      const winner = results.indexOf(true)
      expect((await store.get('t/metadata/v1.metadata.json'))!.toString()).toBe(`writer ${winner}`)
      expect(await store.putIfAbsent('t/metadata/v1.metadata.json', Buffer.from('late'))).toBe(false)
    })

    test('putStream writes the chunks as one object, returns its size, and overwrites', async () => {
      const store = await open()
      async function* chunks(count: number, size: number): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < count; i++) yield new Uint8Array(size).fill(i)
      }
      expect(await store.putStream('s/object', chunks(40, 1000))).toBe(40_000)
      const body = (await store.get('s/object'))!
      expect(body.length).toBe(40_000)
      for (const i of [0, 17, 39]) expect(body.subarray(i * 1000, (i + 1) * 1000)).toEqual(Buffer.alloc(1000, i))
      expect(await store.putStream('s/object', chunks(2, 3))).toBe(6)
      expect(await store.get('s/object')).toEqual(Buffer.from([0, 0, 0, 1, 1, 1]))
      expect(await store.putStream('s/empty', chunks(0, 1))).toBe(0)
      expect(await store.get('s/empty')).toEqual(Buffer.alloc(0))
    })

    test('a failing stream leaves no object behind', async () => {
      const store = await open()
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield Buffer.from('half')
        throw new Error('source failed')
      }
      await expect(store.putStream('s/failed', failing())).rejects.toThrow('source failed')
      expect(await store.exists('s/failed')).toBe(false)
      expect(await store.list('s/')).toEqual([])
    })

    test('getRange reads a slice, clamped to the object; a missing key reads as null', async () => {
      const store = await open()
      await store.put('g/k', Buffer.from('0123456789'))
      expect((await store.getRange('g/k', 2, 5))!.toString()).toBe('234')
      expect((await store.getRange('g/k', 0, 10))!.toString()).toBe('0123456789')
      expect((await store.getRange('g/k', 8, 100))!.toString()).toBe('89')
      expect(await store.getRange('g/k', 10, 20)).toEqual(Buffer.alloc(0))
      expect(await store.getRange('g/k', 4, 4)).toEqual(Buffer.alloc(0))
      expect(await store.getRange('g/missing', 0, 4)).toBeNull()
      await expect(store.getRange('g/k', 5, 4)).rejects.toThrow(/invalid byte range/)
    })

    test('list returns the keys under a prefix, sorted, and nothing half-written', async () => {
      const store = await open()
      for (const key of ['t/data/x=1/b.parquet', 't/data/x=1/a.parquet', 't/metadata/v1.metadata.json', 'u/v1']) await store.put(key, Buffer.from(key))
      expect(await store.list('t/data/')).toEqual(['t/data/x=1/a.parquet', 't/data/x=1/b.parquet'])
      expect(await store.list('t/metadata/v')).toEqual(['t/metadata/v1.metadata.json'])
      expect(await store.list('none/')).toEqual([])
    })

    test('listInfo gives each listed object its size and a write time no earlier than the put', async () => {
      const store = await open()
      // File systems may round write times down to their tick: allow one second of it.
      const before = Date.now() - 1000
      await store.put('i/b', Buffer.from('four'))
      await store.putIfAbsent('i/a', Buffer.from('xy'))
      const listed = await store.listInfo('i/')
      expect(listed.map(({ key, sizeBytes }) => [key, sizeBytes])).toEqual([['i/a', 2], ['i/b', 4]])
      for (const { modifiedMs } of listed) expect(modifiedMs).toBeGreaterThanOrEqual(before)
    })

    test('removeAbandonedUploads never removes a finished object', async () => {
      const store = await open()
      await store.put('r/k', Buffer.from('x'))
      await store.putIfAbsent('r/v1', Buffer.from('y'))
      expect(await store.removeAbandonedUploads('', Date.now() + 60_000)).toEqual({ count: 0, bytes: 0 })
      expect(await store.list('r/')).toEqual(['r/k', 'r/v1'])
    })

    test('delete removes, and deleting a missing key is fine', async () => {
      const store = await open()
      await store.put('d/k', Buffer.from('x'))
      await store.delete('d/k')
      await store.delete('d/k')
      expect(await store.get('d/k')).toBeNull()
    })

    test('location and keyOf are inverse; keys outside the store are refused', async () => {
      const store = await open()
      const location = store.location('ns/table/metadata/v1.metadata.json')
      expect(store.keyOf(location)).toBe('ns/table/metadata/v1.metadata.json')
      expect(store.keyOf('s3://elsewhere/x')).toBeNull()
      await expect(store.put('../escape', Buffer.from('x'))).rejects.toThrow(/invalid object key/)
    })
  })
}
