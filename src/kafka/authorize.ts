// The ACL questions handlers ask about the client of a request (its principal and host), and the
// error codes Kafka answers when the answer is no.
import { AclOperation, CLUSTER_NAME, ResourceType, grantableOperations, type Resource } from '../security/acl.ts'
import type { RequestContext } from './handler.ts'

export { AclOperation, ResourceType }

export function allowed(context: RequestContext, operation: number, resourceType: Resource, name: string): boolean {
  return context.authorizer.authorize(context.principal, context.clientHost, operation, resourceType, name)
}

export function allowedOnCluster(context: RequestContext, operation: number): boolean {
  return allowed(context, operation, ResourceType.CLUSTER, CLUSTER_NAME)
}

export function allowedOnTopic(context: RequestContext, operation: number, topic: string): boolean {
  return allowed(context, operation, ResourceType.TOPIC, topic)
}

export function allowedOnGroup(context: RequestContext, operation: number, group: string): boolean {
  return allowed(context, operation, ResourceType.GROUP, group)
}

/** Kafka lets a topic be created by CREATE on the cluster or on the topic itself. */
export function mayCreateTopic(context: RequestContext, topic: string): boolean {
  return allowedOnCluster(context, AclOperation.CREATE) || allowedOnTopic(context, AclOperation.CREATE, topic)
}

/** An idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (Kafka 2.8+). */
export function mayWriteIdempotently(context: RequestContext): boolean {
  return allowedOnCluster(context, AclOperation.IDEMPOTENT_WRITE) ||
    context.authorizer.authorizeAny(context.principal, context.clientHost, AclOperation.WRITE, ResourceType.TOPIC)
}

/** What an authorized-operations field holds when the client did not ask for it (Kafka's INT32_MIN). */
export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648

/**
 * The operations the client may perform on the resource, as the bit field Kafka answers in Metadata,
 * DescribeCluster and DescribeGroups (bit n set: operation n allowed), or INT32_MIN when not asked.
 */
export function authorizedOperations(context: RequestContext, asked: boolean, resourceType: Resource, name: string): number {
  if (!asked) return AUTHORIZED_OPERATIONS_OMITTED
  let bits = 0
  for (const operation of grantableOperations(resourceType)) if (allowed(context, operation, resourceType, name)) bits |= 1 << operation
  return bits
}
