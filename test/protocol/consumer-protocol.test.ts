import { AssignerProtocol } from 'kafkajs'
import { describe, expect, it } from 'vitest'
import { decodeSubscriptionTopics } from '../../src/protocol/consumer-protocol.ts'
import { Writer } from '../../src/protocol/writer.ts'

/** A Subscription of the given version as the Java client writes it (fields after the topics included). */
function subscription(version: number, topics: string[]): Buffer {
  const w = new Writer()
  w.int16(version)
  w.int32(topics.length)
  for (const topic of topics) w.string(topic)
  w.nullableBytes(null)
  if (version >= 1) {
    w.int32(1)
    w.string(topics[0]!)
    w.int32(1)
    w.int32(0)
  }
  if (version >= 2) w.int32(7)
  if (version >= 3) w.nullableString('rack-a')
  return w.toBuffer()
}

describe('consumer-protocol subscription topics', () => {
  it('reads the topics of a subscription written by kafkajs', () => {
    const metadata = AssignerProtocol.MemberMetadata.encode({ version: 1, topics: ['orders', 'payments'], userData: Buffer.from('opaque') })
    expect(decodeSubscriptionTopics(metadata)).toEqual(['orders', 'payments'])
  })

  it('reads the topics of every subscription version, ignoring the fields after them', () => {
    for (const version of [0, 1, 2, 3]) expect(decodeSubscriptionTopics(subscription(version, ['a', 'b.c']))).toEqual(['a', 'b.c'])
  })

  it('keeps the topics read before malformed bytes', () => {
    const whole = subscription(0, ['first', 'second'])
    // Cut inside the second topic name.
    expect(decodeSubscriptionTopics(whole.subarray(0, 2 + 4 + 2 + 5 + 2 + 3))).toEqual(['first'])
    const overcounted = Buffer.from(whole)
    overcounted.writeInt32BE(1000, 2)
    expect(decodeSubscriptionTopics(overcounted)).toEqual(['first', 'second'])
  })

  it('names no topics for metadata that is not a subscription', () => {
    expect(decodeSubscriptionTopics(Buffer.alloc(0))).toEqual([])
    expect(decodeSubscriptionTopics(Buffer.from('r'))).toEqual([])
  })
})
