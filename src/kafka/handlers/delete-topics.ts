// DeleteTopics: by name (v0-5) or by name or id (v6). The hot log forgets the topic at once.
import { storageRefusal } from '../../log/broker-log.ts'
import { ApiKey } from '../../protocol/generated/api-keys.ts'
import { ErrorCode } from '../../protocol/generated/errors.ts'
import { readDeleteTopicsRequest, writeDeleteTopicsResponse, type DeleteTopicsRequest, type DeleteTopicsResponse } from '../../protocol/generated/delete-topics.ts'
import { ZERO_UUID } from '../../protocol/reader.ts'
import { defineHandler } from '../handler.ts'
import { AclOperation, allowedOnTopic } from '../authorize.ts'

type Result = DeleteTopicsResponse['responses'][number]

export const deleteTopics = defineHandler<DeleteTopicsRequest, DeleteTopicsResponse>({
  apiKey: ApiKey.DeleteTopics,
  name: 'DeleteTopics',
  minVersion: 0,
  maxVersion: 6,
  read: readDeleteTopicsRequest,
  write: writeDeleteTopicsResponse,
  async handle(request, context) {
    const { log } = context
    const wanted = context.apiVersion >= 6 ? request.topics : request.topicNames.map((name) => ({ name, topicId: ZERO_UUID }))
    const responses: Result[] = []
    for (const { name, topicId } of wanted) {
      const topic = name !== null ? log.topicByName(name) : log.topicById(topicId)
      const named = name ?? topic?.name
      if (named !== undefined && !allowedOnTopic(context, AclOperation.DELETE, named)) {
        responses.push({ name, topicId, errorCode: ErrorCode.TOPIC_AUTHORIZATION_FAILED, errorMessage: 'Authorization failed.' })
        continue
      }
      if (topic === undefined) {
        const byId = name === null
        responses.push({
          name, topicId,
          errorCode: byId ? ErrorCode.UNKNOWN_TOPIC_ID : ErrorCode.UNKNOWN_TOPIC_OR_PARTITION,
          errorMessage: byId ? `no topic with id ${topicId}` : `topic ${name} does not exist`,
        })
        continue
      }
      try {
        await log.deleteTopic(topic)
      } catch (error) {
        const refusal = storageRefusal(error)
        if (refusal === null) throw error
        responses.push({ name: topic.name, topicId: topic.id, errorCode: refusal.errorCode, errorMessage: refusal.message })
        continue
      }
      responses.push({ name: topic.name, topicId: topic.id, errorCode: ErrorCode.NONE, errorMessage: null })
    }
    return { throttleTimeMs: 0, responses }
  },
})
