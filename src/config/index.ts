// Turns ZOMBI_* environment variables and --ZOMBI_*=value flags into a validated, typed config.
// The table in settings.ts gives every field its name, type and unit; only rules that join
// several settings are written out here.
import path from 'node:path'
import { ZombiError } from '../errors.ts'
import { resolveListeners, usesSasl, usesTls, type ListenerSpec } from './listeners.ts'
import { SETTINGS, UNIT_FACTORS, type SettingDefinition, type SettingName } from './settings.ts'

type Row = (typeof SETTINGS)[number]
type Value<R extends Row> = R extends { kind: 'integer' } ? number : R extends { kind: 'boolean' } ? boolean : R extends { values: readonly (infer V)[] } ? V : string
/** Each row's field with the type its kind gives, null when the row has no default and is unset. */
type TableConfig = { [R in Row as R['field']]: Value<R> | (R['default'] extends null ? null : never) }
/** Fields the cross-setting rules in loadConfig settle (a derived default, a value refused at start). */
interface Settled {
  advertisedHost: string
  /** The warehouse root: a directory (ZOMBI_STORAGE=local) or s3://bucket[/prefix] (s3). */
  warehouse: string
  /** The Kafka listeners (ZOMBI_LISTENERS, or the one PLAINTEXT listener of ZOMBI_HOST/ZOMBI_KAFKA_PORT). */
  kafkaListeners: ListenerSpec[]
  /** ZOMBI_HTTP_AUTH's schemes; empty: the HTTP door does not authenticate. */
  httpAuthSchemes: HttpAuthScheme[]
  /** ZOMBI_SUPER_USERS as a list. */
  superUserList: string[]
  /** allow.everyone.if.no.acl.found: ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND, or its default (false once clients authenticate). */
  allowIfNoAcl: boolean
  /** The mechanisms of ZOMBI_SASL_MECHANISMS (its default with a SASL listener); empty without SASL listeners. */
  saslEnabledMechanisms: SaslMechanismName[]
}
export type Config = { [K in keyof TableConfig | keyof Settled]: K extends keyof Settled ? Settled[K] : K extends keyof TableConfig ? TableConfig[K] : never }

type RawSettings = Partial<Record<SettingName, string>>

const DEFINITIONS: readonly SettingDefinition[] = SETTINGS
const KNOWN_NAMES: ReadonlySet<string> = new Set(DEFINITIONS.map((def) => def.name))

/** Edit distance (insertions, deletions, substitutions), to point a misspelt name to the setting meant. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j)
  for (let i = 1; i <= a.length; i++) {
    const current = [i]
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    }
    previous = current
  }
  return previous[b.length]!
}

/** The known setting closest to `name` (the first in table order on a tie). */
export function nearestSetting(name: string): SettingName {
  let nearest: SettingName = SETTINGS[0].name
  let nearestDistance = Infinity
  for (const { name: known } of SETTINGS) {
    const distance = editDistance(name, known)
    if (distance < nearestDistance) {
      nearest = known
      nearestDistance = distance
    }
  }
  return nearest
}

export interface UnknownSetting {
  /** The ZOMBI_* variable that is no setting. */
  name: string
  nearest: SettingName
}

/**
 * ZOMBI_* variables of the environment that are no setting: a typo, or a setting Zombi does not
 * have (ZOMBI_S3_BUKET, a typo). Reported at start rather than refused, because the environment is
 * shared with other tools (test harnesses set ZOMBI_TEST_PYTHON, deployments may carry other
 * Zombi implementations' variables); a flag is typed on Zombi's own command line, so an unknown
 * one stops the process.
 */
export function unknownSettings(env: NodeJS.ProcessEnv): UnknownSetting[] {
  return Object.keys(env)
    .filter((name) => name.startsWith('ZOMBI_') && !KNOWN_NAMES.has(name))
    .sort()
    .map((name) => ({ name, nearest: nearestSetting(name) }))
}

/** Reads `--NAME=value` / `--NAME value` flags; flags win over the environment. */
export function parseFlags(argv: readonly string[]): RawSettings {
  const out: RawSettings = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--')) throw new ZombiError('CONFIG_INVALID', `unexpected argument "${arg}" (settings are --ZOMBI_NAME=value)`)
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    if (!KNOWN_NAMES.has(name)) throw new ZombiError('CONFIG_INVALID', `unknown setting ${name} (nearest known: ${nearestSetting(name)}); see --help`)
    const value: string | undefined = eq === -1 ? argv[++i] : arg.slice(eq + 1)
    if (value === undefined) throw new ZombiError('CONFIG_INVALID', `${name} needs a value`)
    out[name as SettingName] = value
  }
  return out
}

function validate(def: SettingDefinition, raw: string): string | number | boolean {
  const fail = (why: string): never => {
    throw new ZombiError('CONFIG_INVALID', `${def.name}=${JSON.stringify(raw)} is invalid: ${why}`)
  }
  switch (def.kind) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw.trim())) fail('expected an integer')
      const n = Number(raw)
      if (def.min !== undefined && n < def.min) fail(`must be >= ${def.min}`)
      if (def.max !== undefined && n > def.max) fail(`must be <= ${def.max}`)
      return n
    }
    case 'boolean': {
      const v = raw.trim().toLowerCase()
      if (v === 'true' || v === '1' || v === 'yes') return true
      if (v === 'false' || v === '0' || v === 'no') return false
      return fail('expected true or false')
    }
    case 'enum':
      if (!def.values!.includes(raw)) fail(`allowed values: ${def.values!.join(', ')}`)
      return raw
    case 'path':
    case 'string':
      if (raw.trim() === '') fail('must not be empty')
      return raw
  }
}

/** A row's value as its field holds it: validated, in the field's unit, paths absolute. */
function fieldValue(def: SettingDefinition, raw: string | null): string | number | boolean | null {
  if (raw === null) return null
  const value = validate(def, raw)
  if (def.unit !== undefined) return (value as number) * UNIT_FACTORS[def.unit]
  return def.kind === 'path' ? path.resolve(value as string) : value
}

/** A field's default from the table, for code that runs without a loaded config (tests, tools). */
export function settingDefault<F extends keyof TableConfig>(field: F): TableConfig[F] {
  const def = DEFINITIONS.find((d) => d.field === field)!
  return fieldValue(def, def.default) as TableConfig[F]
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env, argv: readonly string[] = []): Config {
  const flags = parseFlags(argv)
  const values: Record<string, string | number | boolean | null> = {}
  for (const def of DEFINITIONS) values[def.field] = fieldValue(def, flags[def.name as SettingName] ?? env[def.name] ?? def.default)
  const table = values as TableConfig
  checkStorage(table)
  checkCatalog(table)
  if (!/^[A-Za-z0-9_-]+$/.test(table.catalogNamespace)) {
    throw new ZombiError('CONFIG_INVALID', `ZOMBI_CATALOG_NAMESPACE=${JSON.stringify(table.catalogNamespace)} is invalid: use letters, digits, _ and -`)
  }
  if (table.maxBufferedRequestBytes < table.maxRequestBytes) {
    // Otherwise one request of the allowed size could never finish arriving.
    throw new ZombiError('CONFIG_INVALID', `ZOMBI_MAX_BUFFERED_REQUEST_MB (${table.maxBufferedRequestBytes} bytes) must be at least ZOMBI_MAX_REQUEST_BYTES (${table.maxRequestBytes})`)
  }
  if (table.groupConsumerHeartbeatIntervalMs >= table.groupConsumerSessionTimeoutMs) {
    // A member would be removed between two of its heartbeats.
    throw new ZombiError('CONFIG_INVALID', `ZOMBI_GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS (${table.groupConsumerHeartbeatIntervalMs}) must be below ZOMBI_GROUP_CONSUMER_SESSION_TIMEOUT_MS (${table.groupConsumerSessionTimeoutMs})`)
  }
  const assignors = table.groupConsumerAssignors.split(',').map((name) => name.trim())
  if (assignors.some((name) => name !== 'uniform' && name !== 'range') || new Set(assignors).size !== assignors.length) {
    throw new ZombiError('CONFIG_INVALID', `ZOMBI_GROUP_CONSUMER_ASSIGNORS=${JSON.stringify(table.groupConsumerAssignors)} is invalid: name uniform and/or range once each, separated by commas`)
  }
  const explicit = (name: string): boolean => (flags[name as SettingName] ?? env[name]) !== undefined
  const kafkaListeners = resolveListeners({ ...table, explicit })
  checkTls(table, kafkaListeners)
  const { mechanisms: saslEnabledMechanisms, http: httpAuthSchemes } = checkAuthentication(table, kafkaListeners, explicit)
  const superUserList = (table.superUsers ?? '').split(';').map((name) => name.trim()).filter((name) => name !== '')
  for (const name of superUserList) {
    if (!/^[^:]+:.+$/.test(name)) throw new ZombiError('CONFIG_INVALID', `ZOMBI_SUPER_USERS names ${JSON.stringify(name)}: principals are Type:name (User:admin), separated by semicolons`)
  }
  const wildcard = table.host === '0.0.0.0' || table.host === '::'
  return {
    ...table,
    kafkaListeners,
    saslEnabledMechanisms,
    httpAuthSchemes,
    superUserList,
    allowIfNoAcl: table.allowEveryoneIfNoAclFound ?? !(saslEnabledMechanisms.length > 0 || table.tlsClientAuth !== 'none' || httpAuthSchemes.length > 0),
    advertisedHost: table.advertisedHost ?? (wildcard ? '127.0.0.1' : table.host),
    warehouse: table.storage === 's3'
      ? `s3://${table.s3Bucket}${table.s3Prefix === null ? '' : `/${table.s3Prefix}`}`
      : table.warehouse ?? path.join(table.dataDir, 'warehouse'),
  }
}

/** Settings that name where on S3 the warehouse is; refused when the tables are not on S3. */
const S3_ONLY = { ZOMBI_S3_BUCKET: 's3Bucket', ZOMBI_S3_PREFIX: 's3Prefix', ZOMBI_S3_ENDPOINT: 's3Endpoint', ZOMBI_S3_REGION: 's3Region', ZOMBI_ICEBERG_S3_ENDPOINT: 'icebergS3Endpoint' } as const

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value)
    return url.protocol === 'http:' || url.protocol === 'https:'
  } catch {
    return false
  }
}

/** Storage settings that only make sense together; a setting that would be ignored is refused. */
function checkStorage(table: TableConfig): void {
  if (table.storage === 'local') {
    for (const [name, field] of Object.entries(S3_ONLY)) {
      if (table[field] !== null) throw new ZombiError('CONFIG_INVALID', `${name} is set but ZOMBI_STORAGE=local: set ZOMBI_STORAGE=s3 to keep the tables on S3, or unset ${name}`)
    }
    if (table.icebergVendCredentials) throw new ZombiError('CONFIG_INVALID', 'ZOMBI_ICEBERG_VEND_CREDENTIALS=true but ZOMBI_STORAGE=local: there are no S3 credentials to hand to readers; unset it')
    return
  }
  if (table.warehouse !== null) throw new ZombiError('CONFIG_INVALID', 'ZOMBI_WAREHOUSE is a local directory and ZOMBI_STORAGE=s3 keeps the tables in ZOMBI_S3_BUCKET: unset one of them')
  if (table.s3Bucket === null) throw new ZombiError('CONFIG_INVALID', 'ZOMBI_STORAGE=s3 needs ZOMBI_S3_BUCKET (the bucket of the warehouse)')
  // S3's rules for bucket names (3-63 of lowercase letters, digits, dots and hyphens, a letter or digit at each end).
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(table.s3Bucket)) {
    throw new ZombiError('CONFIG_INVALID', `ZOMBI_S3_BUCKET=${JSON.stringify(table.s3Bucket)} is invalid: 3-63 lowercase letters, digits, dots and hyphens`)
  }
  if (table.s3Prefix !== null && (table.s3Prefix.startsWith('/') || table.s3Prefix.endsWith('/') || table.s3Prefix.split('/').some((part) => part === '' || part === '.' || part === '..'))) {
    throw new ZombiError('CONFIG_INVALID', `ZOMBI_S3_PREFIX=${JSON.stringify(table.s3Prefix)} is invalid: path segments separated by /, no leading or trailing /, no empty, . or .. segments`)
  }
  for (const [name, value] of [['ZOMBI_S3_ENDPOINT', table.s3Endpoint], ['ZOMBI_ICEBERG_S3_ENDPOINT', table.icebergS3Endpoint]] as const) {
    if (value !== null && !isHttpUrl(value)) throw new ZombiError('CONFIG_INVALID', `${name}=${JSON.stringify(value)} is invalid: expected an http:// or https:// URL`)
  }
}

/** TLS files are needed by, and only by, TLS listeners and HTTPS. */
function checkTls(table: TableConfig, listeners: readonly ListenerSpec[]): void {
  const tls = listeners.find((listener) => usesTls(listener.protocol))
  if (tls !== undefined || table.httpTls) {
    if (table.tlsCertFile === null || table.tlsKeyFile === null) {
      const user = tls === undefined ? 'ZOMBI_HTTP_TLS=true' : `listener ${tls.name} uses ${tls.protocol}`
      throw new ZombiError('CONFIG_INVALID', `${user}: set ZOMBI_TLS_CERT_FILE and ZOMBI_TLS_KEY_FILE (PEM certificate chain and private key)`)
    }
  } else {
    for (const [name, set] of [['ZOMBI_TLS_CERT_FILE', table.tlsCertFile !== null], ['ZOMBI_TLS_KEY_FILE', table.tlsKeyFile !== null], ['ZOMBI_TLS_CA_FILE', table.tlsCaFile !== null]] as const) {
      if (set) throw new ZombiError('CONFIG_INVALID', `${name} is set but nothing uses TLS: add an SSL or SASL_SSL listener to ZOMBI_LISTENERS (e.g. SSL://0.0.0.0:9093) or set ZOMBI_HTTP_TLS=true, or unset ${name}`)
    }
  }
  // Client certificates are asked for on the Kafka listeners only.
  if (table.tlsClientAuth !== 'none') {
    if (tls === undefined) throw new ZombiError('CONFIG_INVALID', 'ZOMBI_TLS_CLIENT_AUTH is set but no listener uses TLS: add an SSL or SASL_SSL listener to ZOMBI_LISTENERS, or unset ZOMBI_TLS_CLIENT_AUTH')
    if (table.tlsCaFile === null) throw new ZombiError('CONFIG_INVALID', `ZOMBI_TLS_CLIENT_AUTH=${table.tlsClientAuth} needs ZOMBI_TLS_CA_FILE (the authorities that sign client certificates)`)
  }
}

const SASL_MECHANISM_NAMES = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512', 'OAUTHBEARER'] as const
export type SaslMechanismName = (typeof SASL_MECHANISM_NAMES)[number]
export type HttpAuthScheme = 'basic' | 'bearer'

/** ZOMBI_HTTP_AUTH: none, or basic and/or bearer. */
function httpAuthSchemes(table: TableConfig): HttpAuthScheme[] {
  const schemes = table.httpAuth.split(',').map((scheme) => scheme.trim().toLowerCase()).filter((scheme) => scheme !== '')
  if (schemes.length === 1 && schemes[0] === 'none') return []
  for (const scheme of schemes) {
    if (scheme !== 'basic' && scheme !== 'bearer') throw new ZombiError('CONFIG_INVALID', `ZOMBI_HTTP_AUTH=${JSON.stringify(table.httpAuth)} is invalid: none, or basic and/or bearer separated by a comma`)
  }
  if (schemes.length === 0 || new Set(schemes).size !== schemes.length) throw new ZombiError('CONFIG_INVALID', `ZOMBI_HTTP_AUTH=${JSON.stringify(table.httpAuth)} is invalid: none, or basic and/or bearer separated by a comma`)
  return schemes as HttpAuthScheme[]
}

/**
 * The enabled SASL mechanisms and HTTP schemes. A setting nothing would use is refused: SASL settings
 * without a SASL listener, JWKS settings without OAUTHBEARER or HTTP bearer, the users file without a
 * password mechanism or HTTP basic.
 */
function checkAuthentication(table: TableConfig, listeners: readonly ListenerSpec[], explicit: (name: string) => boolean): { mechanisms: SaslMechanismName[]; http: HttpAuthScheme[] } {
  const http = httpAuthSchemes(table)
  if (explicit('ZOMBI_HTTP_METRICS_OPEN') && http.length === 0) throw new ZombiError('CONFIG_INVALID', 'ZOMBI_HTTP_METRICS_OPEN is set but ZOMBI_HTTP_AUTH=none: without HTTP authentication every route is open; unset it')
  let mechanisms: SaslMechanismName[] = []
  if (listeners.some((listener) => usesSasl(listener.protocol))) {
    const names = (table.saslMechanisms ?? 'SCRAM-SHA-256,SCRAM-SHA-512').split(',').map((name) => name.trim().toUpperCase()).filter((name) => name !== '')
    if (names.length === 0) throw new ZombiError('CONFIG_INVALID', 'ZOMBI_SASL_MECHANISMS names no mechanism')
    for (const name of names) {
      if (!(SASL_MECHANISM_NAMES as readonly string[]).includes(name)) throw new ZombiError('CONFIG_INVALID', `ZOMBI_SASL_MECHANISMS names ${name}: the mechanisms are ${SASL_MECHANISM_NAMES.join(', ')}`)
    }
    if (new Set(names).size !== names.length) throw new ZombiError('CONFIG_INVALID', 'ZOMBI_SASL_MECHANISMS names a mechanism twice')
    mechanisms = names as SaslMechanismName[]
  } else {
    for (const name of ['ZOMBI_SASL_MECHANISMS', 'ZOMBI_SASL_SESSION_LIFETIME_MS']) {
      if (explicit(name)) throw new ZombiError('CONFIG_INVALID', `${name} is set but no listener uses SASL: add a SASL_SSL or SASL_PLAINTEXT listener to ZOMBI_LISTENERS, or unset ${name}`)
    }
  }
  const passwords = mechanisms.some((name) => name !== 'OAUTHBEARER') || http.includes('basic')
  for (const name of ['ZOMBI_SASL_USERS_FILE', 'ZOMBI_SASL_SCRAM_ITERATIONS']) {
    if (!passwords && explicit(name)) throw new ZombiError('CONFIG_INVALID', `${name} is set but nothing checks passwords: enable PLAIN or SCRAM on a SASL listener, or ZOMBI_HTTP_AUTH=basic, or unset ${name}`)
  }
  if (!mechanisms.length && !http.length && explicit('ZOMBI_SASL_FAILED_AUTH_DELAY_MS')) {
    throw new ZombiError('CONFIG_INVALID', 'ZOMBI_SASL_FAILED_AUTH_DELAY_MS is set but nothing authenticates: add a SASL listener or set ZOMBI_HTTP_AUTH, or unset it')
  }
  const tokens = mechanisms.includes('OAUTHBEARER') || http.includes('bearer')
  if (tokens) {
    if ((table.oauthJwksFile === null) === (table.oauthJwksUrl === null)) throw new ZombiError('CONFIG_INVALID', 'OAUTHBEARER and HTTP bearer tokens need exactly one of ZOMBI_SASL_OAUTHBEARER_JWKS_FILE and ZOMBI_SASL_OAUTHBEARER_JWKS_URL (the keys that sign the tokens)')
    if (table.oauthJwksUrl !== null && !isHttpUrl(table.oauthJwksUrl)) throw new ZombiError('CONFIG_INVALID', `ZOMBI_SASL_OAUTHBEARER_JWKS_URL=${JSON.stringify(table.oauthJwksUrl)} is invalid: expected an http:// or https:// URL`)
  } else {
    for (const name of ['ZOMBI_SASL_OAUTHBEARER_JWKS_FILE', 'ZOMBI_SASL_OAUTHBEARER_JWKS_URL', 'ZOMBI_SASL_OAUTHBEARER_ISSUER', 'ZOMBI_SASL_OAUTHBEARER_AUDIENCE', 'ZOMBI_SASL_OAUTHBEARER_CLOCK_SKEW_SECS']) {
      if (explicit(name)) throw new ZombiError('CONFIG_INVALID', `${name} is set but nothing takes tokens: add OAUTHBEARER to ZOMBI_SASL_MECHANISMS or bearer to ZOMBI_HTTP_AUTH, or unset ${name}`)
    }
  }
  return { mechanisms, http }
}

/** Settings of the REST catalog client; refused with the filesystem catalog. */
const REST_ONLY = { ZOMBI_CATALOG_URL: 'catalogUrl', ZOMBI_CATALOG_WAREHOUSE: 'catalogWarehouse', ZOMBI_CATALOG_TOKEN: 'catalogToken', ZOMBI_CATALOG_CREDENTIAL: 'catalogCredential', ZOMBI_CATALOG_OAUTH2_URI: 'catalogOauth2Uri' } as const

function checkCatalog(table: TableConfig): void {
  if (table.catalogType === 'filesystem') {
    for (const [name, field] of Object.entries(REST_ONLY)) {
      if (table[field] !== null) throw new ZombiError('CONFIG_INVALID', `${name} is set but ZOMBI_CATALOG_TYPE=filesystem: set ZOMBI_CATALOG_TYPE=rest to use a REST catalog, or unset ${name}`)
    }
    return
  }
  if (table.catalogUrl === null) throw new ZombiError('CONFIG_INVALID', 'ZOMBI_CATALOG_TYPE=rest needs ZOMBI_CATALOG_URL (the REST catalog\'s base URL, e.g. http://127.0.0.1:8181)')
  if (!isHttpUrl(table.catalogUrl)) throw new ZombiError('CONFIG_INVALID', `ZOMBI_CATALOG_URL=${JSON.stringify(table.catalogUrl)} is invalid: expected an http:// or https:// URL`)
  if (table.catalogToken !== null && table.catalogCredential !== null) {
    throw new ZombiError('CONFIG_INVALID', 'ZOMBI_CATALOG_TOKEN and ZOMBI_CATALOG_CREDENTIAL are both set: use a bearer token or OAuth2 client credentials, not both')
  }
  if (table.catalogCredential !== null && !/^[^:]+:.+$/.test(table.catalogCredential)) {
    throw new ZombiError('CONFIG_INVALID', 'ZOMBI_CATALOG_CREDENTIAL is invalid: expected <client_id>:<client_secret>')
  }
  if (table.catalogOauth2Uri !== null) {
    if (table.catalogCredential === null) throw new ZombiError('CONFIG_INVALID', 'ZOMBI_CATALOG_OAUTH2_URI is set without ZOMBI_CATALOG_CREDENTIAL: it is where client credentials are exchanged for a token')
    if (!isHttpUrl(table.catalogOauth2Uri)) throw new ZombiError('CONFIG_INVALID', `ZOMBI_CATALOG_OAUTH2_URI=${JSON.stringify(table.catalogOauth2Uri)} is invalid: expected an http:// or https:// URL`)
  }
}

/** The settings table as markdown (docs/config.md) or as --help text. */
export function renderSettings(format: 'markdown' | 'help'): string {
  const defs = SETTINGS as readonly SettingDefinition[]
  const allowed = (d: SettingDefinition): string =>
    d.kind === 'enum' ? d.values!.join(' \\| ') : d.kind === 'integer' ? `integer ${d.min ?? ''}–${d.max ?? ''}` : d.kind
  if (format === 'help') {
    return defs
      .map((d) => `  ${d.name.padEnd(30)} ${d.description}\n  ${''.padEnd(30)} default: ${d.default ?? '(unset)'}; ${allowed(d).replace(/\\\|/g, '|')}`)
      .join('\n')
  }
  const rows = defs.map((d) => `| \`${d.name}\` | ${d.default === null ? '(unset)' : `\`${d.default}\``} | ${allowed(d)} | ${d.description} |`)
  return [
    '# Configuration',
    '',
    'Every setting is an environment variable, and the same name works as a command-line flag',
    '(`npm start -- --ZOMBI_KAFKA_PORT=9093`; flags win). Values are validated at start; an invalid',
    'value stops the process with a message naming the variable and what is allowed.',
    '',
    'Generated from `src/config/settings.ts` by `npm run docs:config`; a test fails when this file is stale.',
    '',
    '| name | default | allowed | meaning |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n')
}
