// The secured half of the harness's broker: a SASL_SSL listener beside PLAINTEXT (certificates made
// with openssl for the run, SCRAM users from ZOMBI_SASL_USERS_FILE), and the ACLs each secured scenario
// needs, created through the broker (CreateAcls on the PLAINTEXT listener, whose User:ANONYMOUS is a
// super user so the other scenarios run as before).
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Admin, AclOperations, AclPermissionTypes, ResourcePatternTypes, ResourceTypes, type Acl } from '@platformatic/kafka'
import { makeCertificates, type TestCertificates } from '../../test/support/certificates.ts'
import { produceReference } from './reader.ts'
import { aclDenied, type ScenarioName } from './scenarios.ts'

export type ScramMechanism = 'SCRAM-SHA-512' | 'SCRAM-SHA-256'

/** What a secured scenario's client gets (also as COMPAT_SECURE_* / COMPAT_SASL_* for drivers). */
export interface SecureClientContext {
  /** host:port of the SASL_SSL listener. */
  bootstrap: string
  /** PEM file of the CA that signed the broker's certificate. */
  caFile: string
  mechanism: ScramMechanism
  username: string
  password: string
  /** acl-denied: a topic that exists but that the user may not describe ('' otherwise). */
  hiddenTopic: string
}

/** The listener names of the harness's broker; PLAINTEXT first, so it is the `bootstrap` of every scenario. */
const secureListener = 'SASL_SSL'

export interface SecuritySetup {
  brokerSettings: Record<string, string>
  caFile: string
  /** Full rights on a sasl-scram-tls topic and group. */
  writer: { username: string; password: string }
  /** READ (no WRITE) on an acl-denied topic and group. */
  reader: { username: string; password: string }
  cleanup(): void
}

export function prepareSecurity(): SecuritySetup {
  const certificates: TestCertificates = makeCertificates()
  const writer = { username: 'compat-scram', password: `scram-${randomBytes(6).toString('hex')}` }
  const reader = { username: 'compat-reader', password: `reader-${randomBytes(6).toString('hex')}` }
  const usersFile = join(certificates.dir, 'users.txt')
  writeFileSync(usersFile, `${writer.username}:${writer.password}\n${reader.username}:${reader.password}\n`)
  return {
    brokerSettings: {
      ZOMBI_LISTENERS: `PLAINTEXT://127.0.0.1:0,${secureListener}://127.0.0.1:0`,
      ZOMBI_TLS_CERT_FILE: certificates.broker.cert,
      ZOMBI_TLS_KEY_FILE: certificates.broker.key,
      ZOMBI_SASL_MECHANISMS: 'SCRAM-SHA-256,SCRAM-SHA-512',
      ZOMBI_SASL_USERS_FILE: usersFile,
      // The PLAINTEXT listener is the loopback door of the other scenarios (and of the harness's own
      // reader and topic creation), as Kafka setups make User:ANONYMOUS a super user for theirs.
      ZOMBI_SUPER_USERS: 'User:ANONYMOUS',
    },
    caFile: certificates.caFile,
    writer,
    reader,
    cleanup: () => certificates.cleanup(),
  }
}

export function secureBootstrap(listenerPorts: Readonly<Record<string, number>>, host: string): string {
  const port = listenerPorts[secureListener]
  if (port === undefined) throw new Error(`the broker has no ${secureListener} listener (listeners: ${Object.keys(listenerPorts).join(', ')})`)
  return `${host}:${port}`
}

function allow(principal: string, resourceType: Acl['resourceType'], resourceName: string, operation: Acl['operation']): Acl {
  return {
    resourceType, resourceName, resourcePatternType: ResourcePatternTypes.LITERAL,
    principal, host: '*', operation, permissionType: AclPermissionTypes.ALLOW,
  }
}

/** Groups by prefix: clients without a group-less consumer (kafkajs) derive group ids from the scenario's. */
function allowPrefixed(principal: string, resourceType: Acl['resourceType'], resourceName: string, operation: Acl['operation']): Acl {
  return { ...allow(principal, resourceType, resourceName, operation), resourcePatternType: ResourcePatternTypes.PREFIXED }
}

async function createAcls(bootstrap: string, creations: Acl[]): Promise<void> {
  const admin = new Admin({ clientId: 'zombi-compat-acls', bootstrapBrokers: [bootstrap], retries: 3, timeout: 30_000 })
  try {
    await admin.createAcls({ creations })
  } finally {
    await admin.close()
  }
}

/**
 * Before a secured scenario: its ACLs (and, for acl-denied, the records to read and the hidden topic).
 * Resolves with what the client is given; undefined for the other scenarios.
 */
export async function prepareSecuredScenario(
  setup: SecuritySetup, scenario: ScenarioName, plainBootstrap: string, secure: string, topic: string, group: string, mechanism: ScramMechanism,
  createTopic: (name: string) => Promise<void>,
): Promise<SecureClientContext | undefined> {
  if (scenario === 'sasl-scram-tls') {
    const principal = `User:${setup.writer.username}`
    await createAcls(plainBootstrap, [
      allow(principal, ResourceTypes.TOPIC, topic, AclOperations.ALL),
      allowPrefixed(principal, ResourceTypes.GROUP, group, AclOperations.READ),
    ])
    return { bootstrap: secure, caFile: setup.caFile, mechanism, ...setup.writer, hiddenTopic: '' }
  }
  if (scenario === 'acl-denied') {
    const principal = `User:${setup.reader.username}`
    const hiddenTopic = `${topic}-hidden`
    await createTopic(hiddenTopic)
    await produceReference(plainBootstrap, topic, Array.from({ length: aclDenied.readableCount }, (_, index) => ({
      partition: 0, key: aclDenied.key(index), value: aclDenied.value(index),
    })))
    // READ implies DESCRIBE; nothing names the hidden topic for this user, and nothing grants WRITE.
    await createAcls(plainBootstrap, [
      allow(principal, ResourceTypes.TOPIC, topic, AclOperations.READ),
      allowPrefixed(principal, ResourceTypes.GROUP, group, AclOperations.READ),
    ])
    return { bootstrap: secure, caFile: setup.caFile, mechanism, ...setup.reader, hiddenTopic }
  }
  return undefined
}

/** The driver environment of a secured scenario (see compat-tests/README.md). */
export function secureEnvironment(context: SecureClientContext | undefined): Record<string, string> {
  if (context === undefined) return {}
  return {
    COMPAT_SECURE_BOOTSTRAP: context.bootstrap,
    COMPAT_CA_FILE: context.caFile,
    COMPAT_SASL_MECHANISM: context.mechanism,
    COMPAT_SASL_USERNAME: context.username,
    COMPAT_SASL_PASSWORD: context.password,
    COMPAT_HIDDEN_TOPIC: context.hiddenTopic,
  }
}
