// The server-side assignors of consumer-protocol groups: uniform (balanced, sticky, respecting
// subscriptions) and range (per-topic consecutive ranges).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { rangeAssignor, uniformAssignor, type AssignmentMember, type TopicPartitions } from '../../src/groups/assignors.ts'

function member(memberId: string, topics: string[], previous: Record<string, number[]> = {}): AssignmentMember {
  return { memberId, topics: new Set(topics), previous: new Map(Object.entries(previous)) }
}

function plain(result: Map<string, TopicPartitions>): Record<string, Record<string, number[]>> {
  return Object.fromEntries([...result].map(([id, partitions]) => [id, Object.fromEntries(partitions)]))
}

function count(partitions: TopicPartitions): number {
  let n = 0
  for (const list of partitions.values()) n += list.length
  return n
}

describe('uniform assignor', () => {
  it('spreads the partitions of a topic evenly over identical subscribers', () => {
    const result = uniformAssignor.assign({ members: [member('a', ['t']), member('b', ['t']), member('c', ['t'])], partitionCounts: new Map([['t', 6]]) })
    expect([...result.values()].map(count)).toEqual([2, 2, 2])
    const all = [...result.values()].flatMap((p) => p.get('t') ?? []).sort((x, y) => x - y)
    expect(all).toEqual([0, 1, 2, 3, 4, 5])
  })

  it('keeps partitions where they were when a member joins, moving only what balance needs', () => {
    const first = uniformAssignor.assign({ members: [member('a', ['t']), member('b', ['t'])], partitionCounts: new Map([['t', 6]]) })
    const previous = (id: string) => Object.fromEntries(first.get(id)!)
    const second = uniformAssignor.assign({ members: [member('a', ['t'], previous('a')), member('b', ['t'], previous('b')), member('c', ['t'])], partitionCounts: new Map([['t', 6]]) })
    for (const id of ['a', 'b']) {
      const kept = second.get(id)!.get('t')!
      expect(kept).toHaveLength(2)
      for (const p of kept) expect(first.get(id)!.get('t')).toContain(p)
    }
    expect(second.get('c')!.get('t')).toHaveLength(2)
  })

  it('gives a leaving member\'s partitions to the others and leaves theirs alone', () => {
    const previous = { a: { t: [0, 1] }, b: { t: [2, 3] }, c: { t: [4, 5] } }
    const result = uniformAssignor.assign({ members: [member('a', ['t'], previous.a), member('b', ['t'], previous.b)], partitionCounts: new Map([['t', 6]]) })
    expect(result.get('a')!.get('t')!.slice(0, 2)).toEqual([0, 1])
    expect(result.get('b')!.get('t')!.filter((p) => p === 2 || p === 3)).toEqual([2, 3])
    expect(count(result.get('a')!) + count(result.get('b')!)).toBe(6)
    expect(Math.abs(count(result.get('a')!) - count(result.get('b')!))).toBe(0)
  })

  it('assigns a topic only to its subscribers', () => {
    const result = uniformAssignor.assign({ members: [member('a', ['t', 'u']), member('b', ['t'])], partitionCounts: new Map([['t', 2], ['u', 4]]) })
    expect(result.get('b')!.get('u')).toBeUndefined()
    expect(result.get('a')!.get('u')).toEqual([0, 1, 2, 3])
    expect(result.get('b')!.get('t')).toEqual([0, 1])
  })

  it('drops previous partitions of topics no longer subscribed or that shrank away', () => {
    const result = uniformAssignor.assign({ members: [member('a', ['t'], { t: [0, 5], gone: [1] })], partitionCounts: new Map([['t', 3]]) })
    expect(plain(result)).toEqual({ a: { t: [0, 1, 2] } })
  })

  it('with identical subscriptions every partition has one owner and counts differ by at most one', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 40 }), fc.array(fc.integer({ min: 0, max: 7 }), { maxLength: 40 }), (members, partitions, seed) => {
      const ids = Array.from({ length: members }, (_, i) => `m${i}`)
      // A random, possibly overlapping, previous assignment.
      const previous = new Map<string, number[]>(ids.map((id) => [id, []]))
      seed.forEach((owner, p) => previous.get(ids[owner % members]!)!.push(p))
      const result = uniformAssignor.assign({ members: ids.map((id) => member(id, ['t'], { t: previous.get(id)! })), partitionCounts: new Map([['t', partitions]]) })
      const owned = [...result.values()].flatMap((p) => p.get('t') ?? []).sort((x, y) => x - y)
      expect(owned).toEqual(Array.from({ length: partitions }, (_, i) => i))
      const counts = [...result.values()].map(count)
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1)
    }))
  })
})

describe('range assignor', () => {
  it('gives each subscriber a consecutive range per topic, the first ones one more', () => {
    const result = rangeAssignor.assign({ members: [member('b', ['t', 'u']), member('a', ['t', 'u']), member('c', ['t'])], partitionCounts: new Map([['t', 7], ['u', 4]]) })
    expect(plain(result)).toEqual({
      a: { t: [0, 1, 2], u: [0, 1] },
      b: { t: [3, 4], u: [2, 3] },
      c: { t: [5, 6] },
    })
  })

  it('leaves members past the partition count without partitions of that topic', () => {
    const result = rangeAssignor.assign({ members: [member('a', ['t']), member('b', ['t']), member('c', ['t'])], partitionCounts: new Map([['t', 2]]) })
    expect(plain(result)).toEqual({ a: { t: [0] }, b: { t: [1] }, c: {} })
  })
})
