// The ACL questions handlers ask about the client of a request (its principal and host), and the
// error codes Kafka answers when the answer is no.
import { AclOperation, CLUSTER_NAME, ResourceType, supportedOperations, type Resource } from '../security/acl.ts'
import type { RequestContext } from './handler.ts'

export { AclOperation, ResourceType }

export function allowed(context: RequestContext, operation: number, resourceType: Resource, name: string): boolean {
  return context.authorizer.authorize(context.principal, context.clientHost, operation, resourceType, name)
}

/** What an authorized-operations field (KIP-430) holds when the client did not ask for it. */
export const OPERATIONS_NOT_REQUESTED = -2147483648

/**
 * The operations the client may do on the resource, as KIP-430's int32 bit set (bit N set: AclOperation N allowed),
 * each asked of the authorizer as a request doing it would be. With no ACLs and allow-everyone (authorization not
 * in use), that is every operation the resource type has, as Kafka answers without an authorizer.
 */
export function authorizedOperations(context: RequestContext, resourceType: Resource, name: string): number {
  let bits = 0
  for (const operation of supportedOperations(resourceType)) if (allowed(context, operation, resourceType, name)) bits |= 1 << operation
  return bits
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
