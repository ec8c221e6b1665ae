// Routes on consumer offsets: commit and read them in the store Kafka groups use, so an HTTP consumer
// and a Kafka consumer of one group share their position.
import type { FastifyInstance } from 'fastify'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import type { HttpDependencies } from '../app.ts'
import { HttpProblem, insufficientStorage } from '../problems.ts'
import * as schemas from '../schemas.ts'

export interface ConsumerRoutesOptions {
  groups: HttpDependencies['groups']
  /** Body limit of the commit route (outside the write budget). */
  controlBodyLimit: number
}

export async function consumerRoutes(app: FastifyInstance, options: ConsumerRoutesOptions): Promise<void> {
  const { groups, controlBodyLimit } = options

  app.post<{ Params: { group: string }; Body: { topic: string; partition: number; offset: number; metadata?: string | null } }>('/consumers/:group/commit', {
    bodyLimit: controlBodyLimit,
    schema: { summary: 'Commit a consumer offset (the same store as Kafka group offsets)', params: schemas.groupParams, body: schemas.commitBody, response: { 200: schemas.offsetResponse, ...schemas.errorResponses, 409: { $ref: 'Error#' }, ...schemas.storageErrorResponses } },
  }, async (request) => {
    const { group } = request.params
    const { topic, partition, offset, metadata = null } = request.body
    const [errorCode] = await groups.commitOffsets(group, -1, '', null, [{ topic, partition, offset, leaderEpoch: -1, metadata }])
    if (errorCode === ErrorCode.UNKNOWN_TOPIC_OR_PARTITION) throw new HttpProblem('HTTP_NOT_FOUND', `table ${topic} has no partition ${partition}`)
    if (errorCode === ErrorCode.UNKNOWN_MEMBER_ID || errorCode === ErrorCode.ILLEGAL_GENERATION) {
      throw new HttpProblem('HTTP_GROUP_ACTIVE', `group ${group} has active Kafka members; only they can commit its offsets`)
    }
    // The only cause of COORDINATOR_NOT_AVAILABLE for a commit: the offsets could not be stored.
    if (errorCode === ErrorCode.COORDINATOR_NOT_AVAILABLE) throw insufficientStorage(`the offset of group ${group} could not be stored (disk full); retry later`)
    if (errorCode !== ErrorCode.NONE) throw new HttpProblem('HTTP_INVALID_REQUEST', `commit refused with Kafka error ${errorCode}`)
    return { group, topic, partition, offset, metadata }
  })

  app.get<{ Params: { group: string }; Querystring: { topic: string; partition: number } }>('/consumers/:group/offset', {
    schema: { summary: 'Read a committed consumer offset', params: schemas.groupParams, querystring: schemas.offsetQuery, response: { 200: schemas.offsetResponse, ...schemas.errorResponses } },
  }, async (request) => {
    const { group } = request.params
    const { topic, partition } = request.query
    const committed = groups.fetchOffset(group, topic, partition)
    return { group, topic, partition, offset: committed?.offset ?? -1, metadata: committed?.metadata ?? null }
  })
}
