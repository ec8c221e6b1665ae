// The consumer protocol: what Kafka consumers put in a group's opaque member metadata. The
// broker only needs the topics of a Subscription (version int16, topics as an array of int16-length
// strings, then user data and, in later versions, owned partitions, generation and rack).
import { ProtocolDecodeError, Reader } from './reader.ts'

/** The protocol type consumers join groups with; other types' metadata means nothing to the broker. */
export const CONSUMER_PROTOCOL_TYPE = 'consumer'

/**
 * The topics a consumer-protocol Subscription names. Malformed bytes subscribe to what could be
 * read before them: the metadata comes from clients and is never trusted to be well formed.
 */
export function decodeSubscriptionTopics(metadata: Buffer): string[] {
  const topics: string[] = []
  const reader = new Reader(metadata)
  try {
    reader.int16()
    // Read as a plain int32, not a bounded array length: a count past the end still yields the topics that are there.
    const count = reader.int32()
    for (let i = 0; i < count; i++) topics.push(reader.string())
  } catch (error) {
    if (!(error instanceof ProtocolDecodeError)) throw error
  }
  return topics
}
