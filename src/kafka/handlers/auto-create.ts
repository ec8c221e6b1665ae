// Auto-creation of unknown topics on Metadata and Produce: the log decides (ZOMBI_AUTO_CREATE_TOPICS,
// ZOMBI_DEFAULT_PARTITIONS, valid names), as for the HTTP door; a client creates only the topics
// its ACLs let it create (CREATE on the cluster or the topic), as in Kafka.
import { mayCreateTopic } from '../authorize.ts'
import type { RequestContext } from '../handler.ts'

/** Creates the named topics that do not exist yet (invalid names are left for the handler to reject). */
export async function autoCreateTopics(names: Iterable<string | null>, context: RequestContext): Promise<void> {
  const creations: Promise<unknown>[] = []
  for (const name of names) if (name !== null && context.log.autoCreates(name) && mayCreateTopic(context, name)) creations.push(context.log.ensureTopic(name))
  await Promise.all(creations)
}

/** Whether any of the names would be auto-created (so prepare can stay synchronous otherwise). */
export function needsAutoCreate(names: Iterable<string | null>, context: RequestContext): boolean {
  for (const name of names) if (name !== null && context.log.autoCreates(name) && mayCreateTopic(context, name)) return true
  return false
}
