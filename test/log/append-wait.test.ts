import { setImmediate as tick } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { waitForAppend } from '../../src/log/append-wait.ts'
import { batchOf, makeLog, topicOf } from '../support/log.ts'

/** Whether the promise has settled after the event loop turned once. */
async function settled(promise: Promise<void>): Promise<boolean> {
  let done = false
  void promise.then(() => { done = true })
  await tick()
  return done
}

describe('waitForAppend', () => {
  it('waits on several partitions at once and ends at the first append to any of them', async () => {
    const { log } = await makeLog()
    const topic = await topicOf(log, 'many', 3)
    const wait = log.waitForAppend(topic.partitions, Number.POSITIVE_INFINITY)
    expect(await settled(wait)).toBe(false)
    await log.append(topic, topic.partitions[2]!, batchOf(['x']))
    expect(await settled(wait)).toBe(true)
  })

  it('ends at the deadline, at once for one already past', async () => {
    const { log } = await makeLog()
    const topic = await topicOf(log, 'deadline')
    expect(await settled(waitForAppend(topic.partitions, Date.now() - 1))).toBe(true)
    await waitForAppend(topic.partitions, Date.now() + 5)
  })

  it('ends when the signal aborts, and when the topic is deleted', async () => {
    const { log } = await makeLog()
    const topic = await topicOf(log, 'ends')
    const controller = new AbortController()
    const aborted = waitForAppend(topic.partitions, Number.POSITIVE_INFINITY, controller.signal)
    const deleted = waitForAppend(topic.partitions, Number.POSITIVE_INFINITY)
    expect(await settled(aborted)).toBe(false)
    controller.abort()
    expect(await settled(aborted)).toBe(true)
    expect(await settled(deleted)).toBe(false)
    await log.deleteTopic(topic)
    expect(await settled(deleted)).toBe(true)
  })

  it('does not end for an append refused for lack of space (nothing was stored)', async () => {
    const { log, store } = await makeLog()
    const topic = await topicOf(log, 'refused')
    const wait = waitForAppend(topic.partitions, Number.POSITIVE_INFINITY)
    store.hasSpaceFor = () => false
    expect((await log.append(topic, topic.partitions[0]!, batchOf(['x']))).errorCode).not.toBe(0)
    expect(await settled(wait)).toBe(false)
  })
})
