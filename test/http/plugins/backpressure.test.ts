import { expect, it } from 'vitest'
import { WriteBudget } from '../../../src/http/plugins/backpressure.ts'
import { Metrics } from '../../../src/observability/metrics.ts'

it('counts body bytes until the response closes, and nothing that streams in after it', () => {
  const budget = new WriteBudget(2, 1000, new Metrics())
  const admission = budget.admit(0)!
  expect(budget.take(admission, 400)).toBe(true)
  expect([budget.writes, budget.bytes]).toEqual([1, 400])
  // The answer (a refusal or a parse error) went out while the client was still sending its body.
  budget.release(admission)
  expect(budget.take(admission, 300)).toBe(true)
  expect([budget.writes, budget.bytes]).toEqual([0, 0])
  // A second close event releases nothing twice.
  budget.release(admission)
  expect([budget.writes, budget.bytes]).toEqual([0, 0])
})

it('refuses a chunk that would pass the byte budget and keeps what was counted', () => {
  const budget = new WriteBudget(2, 1000, new Metrics())
  const first = budget.admit(0)!
  const second = budget.admit(600)!
  expect(budget.take(first, 300)).toBe(true)
  expect(budget.take(first, 200)).toBe(false)
  expect(budget.bytes).toBe(900)
  expect(budget.admit(0)).toBeNull()
  budget.release(second)
  budget.release(first)
  expect([budget.writes, budget.bytes]).toEqual([0, 0])
})
