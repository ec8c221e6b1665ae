// Kafka's ACL model: bindings of (resource type, name, pattern) to (principal, host, operation,
// permission), the numbers the ACL APIs use for each, filters as DescribeAcls/DeleteAcls send them,
// and which operations imply which (READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS
// implies DESCRIBE_CONFIGS).

export const ResourceType = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6, USER: 7 } as const
export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const
export const AclOperation = {
  UNKNOWN: 0, ANY: 1, ALL: 2, READ: 3, WRITE: 4, CREATE: 5, DELETE: 6, ALTER: 7, DESCRIBE: 8, CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10, ALTER_CONFIGS: 11, IDEMPOTENT_WRITE: 12, CREATE_TOKENS: 13, DESCRIBE_TOKENS: 14,
} as const
export const Permission = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const

/** The resource types Zombi authorizes (delegation tokens and users are not served). */
export type Resource = typeof ResourceType.TOPIC | typeof ResourceType.GROUP | typeof ResourceType.CLUSTER | typeof ResourceType.TRANSACTIONAL_ID
/** The one cluster resource's name. */
export const CLUSTER_NAME = 'kafka-cluster'
export const WILDCARD = '*'

export interface AclBinding {
  resourceType: number
  resourceName: string
  patternType: number
  principal: string
  host: string
  operation: number
  permission: number
}

/** A filter as DescribeAcls and DeleteAcls send it: ANY matches everything, null names match any. */
export interface AclFilter {
  resourceType: number
  resourceName: string | null
  patternType: number
  principal: string | null
  host: string | null
  operation: number
  permission: number
}

const OPERATIONS_BY_RESOURCE: Readonly<Record<number, readonly number[]>> = {
  [ResourceType.TOPIC]: [AclOperation.ALL, AclOperation.READ, AclOperation.WRITE, AclOperation.CREATE, AclOperation.DELETE, AclOperation.ALTER, AclOperation.DESCRIBE, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS],
  [ResourceType.GROUP]: [AclOperation.ALL, AclOperation.READ, AclOperation.DELETE, AclOperation.DESCRIBE],
  [ResourceType.CLUSTER]: [AclOperation.ALL, AclOperation.CREATE, AclOperation.CLUSTER_ACTION, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS, AclOperation.IDEMPOTENT_WRITE, AclOperation.ALTER, AclOperation.DESCRIBE],
  [ResourceType.TRANSACTIONAL_ID]: [AclOperation.ALL, AclOperation.DESCRIBE, AclOperation.WRITE],
}

/**
 * The operations a resource of this type has, without ALL (Kafka's AclEntry.supportedOperations for the types Zombi
 * serves; a group has no DESCRIBE_CONFIGS/ALTER_CONFIGS here, as Zombi keeps no group configs).
 */
export function supportedOperations(resourceType: Resource): readonly number[] {
  return OPERATIONS_BY_RESOURCE[resourceType]!.filter((operation) => operation !== AclOperation.ALL)
}

/** Why a binding cannot be stored (the CreateAcls error message), or null when it can. */
export function invalidBinding(binding: AclBinding): string | null {
  const operations = OPERATIONS_BY_RESOURCE[binding.resourceType]
  if (operations === undefined) return `resource type ${binding.resourceType} is not one of TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID`
  if (binding.patternType !== PatternType.LITERAL && binding.patternType !== PatternType.PREFIXED) return `pattern type ${binding.patternType} is not LITERAL or PREFIXED`
  if (binding.resourceName === '') return 'the resource name is empty'
  if (binding.resourceType === ResourceType.CLUSTER && (binding.resourceName !== CLUSTER_NAME || binding.patternType !== PatternType.LITERAL)) {
    return `the cluster resource is the literal name ${CLUSTER_NAME}`
  }
  if (!operations.includes(binding.operation)) return `operation ${binding.operation} does not apply to resource type ${binding.resourceType}`
  if (binding.permission !== Permission.ALLOW && binding.permission !== Permission.DENY) return `permission type ${binding.permission} is not ALLOW or DENY`
  if (!/^[^:]+:.+$/.test(binding.principal)) return `principal ${JSON.stringify(binding.principal)} is not of the form Type:name (e.g. User:alice)`
  if (binding.host === '') return 'the host is empty (use * for any host)'
  return null
}

/** Why a filter is refused (the DescribeAcls/DeleteAcls error message), or null. */
export function invalidFilter(filter: AclFilter): string | null {
  if (filter.resourceType === ResourceType.UNKNOWN || filter.operation === AclOperation.UNKNOWN || filter.permission === Permission.UNKNOWN || filter.patternType === PatternType.UNKNOWN) {
    return 'the filter holds UNKNOWN'
  }
  return null
}

/** Whether `filter` selects `binding` (Kafka's AclBindingFilter.matches, MATCH included). */
export function filterMatches(filter: AclFilter, binding: AclBinding): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== binding.resourceType) return false
  if (filter.operation !== AclOperation.ANY && filter.operation !== binding.operation) return false
  if (filter.permission !== Permission.ANY && filter.permission !== binding.permission) return false
  if (filter.principal !== null && filter.principal !== binding.principal) return false
  if (filter.host !== null && filter.host !== binding.host) return false
  const name = filter.resourceName
  switch (filter.patternType) {
    case PatternType.ANY:
      return name === null || name === binding.resourceName
    case PatternType.MATCH:
      // Every binding that would apply to a resource of this name.
      if (name === null) return true
      if (binding.patternType === PatternType.LITERAL) return binding.resourceName === name || binding.resourceName === WILDCARD
      return name.startsWith(binding.resourceName)
    default:
      return filter.patternType === binding.patternType && (name === null || name === binding.resourceName)
  }
}

/** Operations whose ALLOW also allows `operation` (Kafka's implied operations). */
export function allowingOperations(operation: number): readonly number[] {
  switch (operation) {
    case AclOperation.DESCRIBE:
      return [AclOperation.ALL, AclOperation.DESCRIBE, AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER]
    case AclOperation.DESCRIBE_CONFIGS:
      return [AclOperation.ALL, AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS]
    default:
      return [AclOperation.ALL, operation]
  }
}

/** Whether the binding's resource pattern covers the resource `name` of its type. */
export function patternCovers(binding: AclBinding, name: string): boolean {
  if (binding.patternType === PatternType.PREFIXED) return name.startsWith(binding.resourceName)
  return binding.resourceName === name || binding.resourceName === WILDCARD
}

/** Whether the binding names this principal (or every user) and host (or every host). */
export function appliesTo(binding: AclBinding, principal: string, host: string): boolean {
  return (binding.principal === principal || binding.principal === 'User:*') && (binding.host === host || binding.host === WILDCARD)
}
