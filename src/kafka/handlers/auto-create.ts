// Auto-creation of unknown topics on Metadata and Produce (ZOMBI_AUTO_CREATE_TOPICS).
import type { RequestContext } from '../handler.ts'
import { topicNameProblem } from '../../log/topic-config.ts'

/** Creates the named topics that do not exist yet (invalid names are left for the handler to reject). */
export async function autoCreateTopics(names: Iterable<string | null>, context: RequestContext): Promise<void> {
  const creations: Promise<unknown>[] = []
  for (const name of names) {
    if (name === null || context.log.topicByName(name) !== undefined || topicNameProblem(name) !== null) continue
    creations.push(context.log.createTopic(name, context.config.defaultPartitions, {}))
  }
  await Promise.all(creations)
}

/** Whether any of the names would be auto-created (so prepare can stay synchronous otherwise). */
export function needsAutoCreate(names: Iterable<string | null>, context: RequestContext): boolean {
  if (!context.config.autoCreateTopics) return false
  for (const name of names) {
    if (name !== null && context.log.topicByName(name) === undefined && topicNameProblem(name) === null) return true
  }
  return false
}
