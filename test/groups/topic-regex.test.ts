// KIP-848 topic regexes: the RE2/J subset Zombi accepts, matched against whole topic names.
import { describe, expect, it } from 'vitest'
import { compileTopicRegex } from '../../src/groups/topic-regex.ts'

function matches(source: string, topic: string): boolean {
  const pattern = compileTopicRegex(source)
  if (typeof pattern === 'string') throw new Error(pattern)
  return pattern.test(topic)
}

describe('topic regex', () => {
  it('matches whole names, as RE2/J matches() does', () => {
    expect(matches('orders', 'orders')).toBe(true)
    expect(matches('orders', 'orders-eu')).toBe(false)
    expect(matches('orders.*', 'orders-eu')).toBe(true)
    expect(matches('a|b', 'ab')).toBe(false)
  })

  it('understands RE2 spellings JavaScript lacks: (?P<name>), leading flags, \\A and \\z', () => {
    expect(matches('(?P<region>eu|us)-orders', 'eu-orders')).toBe(true)
    expect(matches('(?i)ORDERS', 'orders')).toBe(true)
    expect(matches('\\Aorders\\z', 'orders')).toBe(true)
  })

  it('refuses what RE2 refuses or this subset does not cover, saying why', () => {
    for (const source of ['(?=a).*', '(?<!a)b', '(a)\\1', 'a*+', '[[:alpha:]]+', '\\p{L}+', '(?U)a*', '', '(']) {
      expect(typeof compileTopicRegex(source), source).toBe('string')
    }
  })
})
