// Kafka listeners as Kafka users write them: ZOMBI_LISTENERS=NAME://host:port,..., advertised
// addresses in the same syntax, and a NAME:PROTOCOL map. Without ZOMBI_LISTENERS the broker has
// one PLAINTEXT listener from ZOMBI_HOST/ZOMBI_KAFKA_PORT/ZOMBI_ADVERTISED_* (the settings of old).
import { ZombiError } from '../errors.ts'

export const SECURITY_PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const
export type SecurityProtocol = (typeof SECURITY_PROTOCOLS)[number]

export interface ListenerSpec {
  /** The listener's name (PLAINTEXT, INTERNAL, ...), upper case as Kafka keeps it. */
  name: string
  protocol: SecurityProtocol
  /** Address to bind. */
  host: string
  /** Port to bind; 0 picks a free one. */
  port: number
  /** Host given to clients connected to this listener (Metadata, FindCoordinator, DescribeCluster). */
  advertisedHost: string
  /** Port given to clients; null: the bound port. */
  advertisedPort: number | null
}

export function usesTls(protocol: SecurityProtocol): boolean {
  return protocol === 'SSL' || protocol === 'SASL_SSL'
}

export function usesSasl(protocol: SecurityProtocol): boolean {
  return protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL'
}

interface Endpoint {
  name: string
  host: string
  port: number
}

const NAME = /^[A-Za-z0-9_]+$/

/** `NAME://host:port` (host may be empty, an IPv4 address, a name, or [IPv6]). */
function parseEndpoint(setting: string, entry: string): Endpoint {
  const fail = (why: string): never => {
    throw new ZombiError('CONFIG_INVALID', `${setting} entry ${JSON.stringify(entry)} is invalid: ${why} (expected NAME://host:port, e.g. SASL_SSL://0.0.0.0:9093)`)
  }
  const match = /^([^:/]+):\/\/(\[[0-9A-Fa-f:.]+\]|[^:[\]/]*):(\d+)$/.exec(entry.trim())
  if (match === null) return fail('not NAME://host:port')
  const [, name, rawHost, rawPort] = match
  if (!NAME.test(name!)) fail('the name takes letters, digits and _')
  const port = Number(rawPort)
  if (port > 65535) fail('the port must be 0-65535')
  const host = rawHost!.startsWith('[') ? rawHost!.slice(1, -1) : rawHost!
  return { name: name!.toUpperCase(), host, port }
}

function parseEndpoints(setting: string, value: string): Endpoint[] {
  const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '')
  if (entries.length === 0) throw new ZombiError('CONFIG_INVALID', `${setting} is empty: name at least one listener`)
  const endpoints = entries.map((entry) => parseEndpoint(setting, entry))
  const names = new Set<string>()
  for (const endpoint of endpoints) {
    if (names.has(endpoint.name)) throw new ZombiError('CONFIG_INVALID', `${setting} names listener ${endpoint.name} twice; each listener name appears once`)
    names.add(endpoint.name)
  }
  return endpoints
}

/** `NAME:PROTOCOL,...`; without it, Kafka's default map (each protocol's name is a listener name of that protocol). */
function parseProtocolMap(value: string | null): Map<string, SecurityProtocol> {
  const map = new Map<string, SecurityProtocol>()
  if (value === null) {
    for (const protocol of SECURITY_PROTOCOLS) map.set(protocol, protocol)
    return map
  }
  for (const entry of value.split(',').map((part) => part.trim()).filter((part) => part !== '')) {
    const [name, protocol, ...rest] = entry.split(':')
    if (rest.length > 0 || name === undefined || protocol === undefined || !NAME.test(name)) {
      throw new ZombiError('CONFIG_INVALID', `ZOMBI_LISTENER_SECURITY_PROTOCOL_MAP entry ${JSON.stringify(entry)} is invalid: expected NAME:PROTOCOL`)
    }
    const upper = protocol.toUpperCase()
    if (!(SECURITY_PROTOCOLS as readonly string[]).includes(upper)) {
      throw new ZombiError('CONFIG_INVALID', `ZOMBI_LISTENER_SECURITY_PROTOCOL_MAP entry ${JSON.stringify(entry)} is invalid: the protocol is one of ${SECURITY_PROTOCOLS.join(', ')}`)
    }
    if (map.has(name.toUpperCase())) throw new ZombiError('CONFIG_INVALID', `ZOMBI_LISTENER_SECURITY_PROTOCOL_MAP maps ${name} twice`)
    map.set(name.toUpperCase(), upper as SecurityProtocol)
  }
  return map
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::'
}

export interface ListenerSettings {
  host: string
  kafkaPort: number
  advertisedHost: string | null
  advertisedKafkaPort: number | null
  listeners: string | null
  advertisedListeners: string | null
  listenerSecurityProtocolMap: string | null
  /** Names of the settings given explicitly (environment or flag), to refuse contradictions with a default. */
  explicit: (name: string) => boolean
}

/**
 * The listeners to open. Precedence: ZOMBI_LISTENERS, when set, names every Kafka listener and
 * ZOMBI_KAFKA_PORT, ZOMBI_ADVERTISED_HOST and ZOMBI_ADVERTISED_KAFKA_PORT must then be unset (they
 * would contradict it); ZOMBI_HOST still binds the HTTP door and a listener with an empty host.
 */
export function resolveListeners(settings: ListenerSettings): ListenerSpec[] {
  const { host, listeners, advertisedListeners, listenerSecurityProtocolMap } = settings
  if (listeners === null) {
    for (const name of ['ZOMBI_ADVERTISED_LISTENERS', 'ZOMBI_LISTENER_SECURITY_PROTOCOL_MAP']) {
      if (settings.explicit(name)) throw new ZombiError('CONFIG_INVALID', `${name} is set without ZOMBI_LISTENERS: name the listeners with ZOMBI_LISTENERS=NAME://host:port,... first`)
    }
    return [{
      name: 'PLAINTEXT', protocol: 'PLAINTEXT', host, port: settings.kafkaPort,
      advertisedHost: settings.advertisedHost ?? (isWildcard(host) ? '127.0.0.1' : host),
      advertisedPort: settings.advertisedKafkaPort,
    }]
  }
  for (const name of ['ZOMBI_KAFKA_PORT', 'ZOMBI_ADVERTISED_HOST', 'ZOMBI_ADVERTISED_KAFKA_PORT']) {
    if (settings.explicit(name)) {
      throw new ZombiError('CONFIG_INVALID', `${name} and ZOMBI_LISTENERS are both set: ZOMBI_LISTENERS names every Kafka listener (use ZOMBI_ADVERTISED_LISTENERS for the advertised addresses); unset ${name}`)
    }
  }
  const protocols = parseProtocolMap(listenerSecurityProtocolMap)
  const bound = parseEndpoints('ZOMBI_LISTENERS', listeners)
  const advertised = new Map<string, Endpoint>()
  if (advertisedListeners !== null) {
    for (const endpoint of parseEndpoints('ZOMBI_ADVERTISED_LISTENERS', advertisedListeners)) {
      if (!bound.some((listener) => listener.name === endpoint.name)) {
        throw new ZombiError('CONFIG_INVALID', `ZOMBI_ADVERTISED_LISTENERS names listener ${endpoint.name}, which ZOMBI_LISTENERS does not have`)
      }
      if (endpoint.host === '' || isWildcard(endpoint.host)) {
        throw new ZombiError('CONFIG_INVALID', `ZOMBI_ADVERTISED_LISTENERS gives listener ${endpoint.name} the address ${JSON.stringify(endpoint.host)}: clients cannot connect to it; give a host name or address`)
      }
      advertised.set(endpoint.name, endpoint)
    }
  }
  const addresses = new Set<string>()
  return bound.map((endpoint) => {
    const protocol = protocols.get(endpoint.name)
    if (protocol === undefined) {
      throw new ZombiError('CONFIG_INVALID', `listener ${endpoint.name} has no security protocol: add ${endpoint.name}:<PLAINTEXT|SSL|SASL_PLAINTEXT|SASL_SSL> to ZOMBI_LISTENER_SECURITY_PROTOCOL_MAP`)
    }
    const bindHost = endpoint.host === '' ? host : endpoint.host
    const address = `${bindHost}:${endpoint.port}`
    if (endpoint.port !== 0 && addresses.has(address)) throw new ZombiError('CONFIG_INVALID', `ZOMBI_LISTENERS binds ${address} twice`)
    addresses.add(address)
    const own = advertised.get(endpoint.name)
    return {
      name: endpoint.name, protocol, host: bindHost, port: endpoint.port,
      advertisedHost: own?.host ?? (isWildcard(bindHost) ? '127.0.0.1' : bindHost),
      advertisedPort: own === undefined || own.port === 0 ? null : own.port,
    }
  })
}

/** `NAME://host:port,...` of the advertised addresses (DescribeConfigs' advertised.listeners). */
export function formatListeners(listeners: ReadonlyArray<{ name: string; host: string; port: number }>): string {
  return listeners.map(({ name, host, port }) => `${name}://${host.includes(':') ? `[${host}]` : host}:${port}`).join(',')
}
