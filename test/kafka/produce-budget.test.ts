import { expect, test } from 'vitest'
import { ProduceBudget } from '../../src/kafka/produce-budget.ts'

test('counts bytes in flight, throttles over the budget, and resumes waiters once half has drained', () => {
  const budget = new ProduceBudget(1000)
  budget.acquire(600)
  expect([budget.overloaded, budget.throttleMs()]).toEqual([false, 0])
  budget.acquire(900)
  expect(budget.overloaded).toBe(true)
  // 500 beyond the budget of 1000: half a budget's worth, 50 ms.
  expect(budget.throttleMs()).toBe(50)
  const resumed: string[] = []
  budget.whenDrained(() => resumed.push('a'))
  budget.whenDrained(() => resumed.push('b'))
  const forgotten = (): void => { resumed.push('gone') }
  budget.whenDrained(forgotten)
  budget.forget(forgotten)
  budget.release(600)
  // 900 left: not yet half of the budget.
  expect(resumed).toEqual([])
  budget.release(450)
  expect(resumed).toEqual(['a', 'b'])
  expect(budget.inflightBytes).toBe(450)
  // Already drained: resumes at once.
  budget.whenDrained(() => resumed.push('now'))
  expect(resumed).toEqual(['a', 'b', 'now'])
  budget.acquire(100_000)
  expect(budget.throttleMs()).toBe(1000)
})
