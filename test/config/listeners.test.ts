import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../src/config/index.ts'
import { formatListeners } from '../../src/config/listeners.ts'

const TLS = { ZOMBI_TLS_CERT_FILE: '/etc/zombi/cert.pem', ZOMBI_TLS_KEY_FILE: '/etc/zombi/key.pem' }

describe('Kafka listeners', () => {
  it('without ZOMBI_LISTENERS, keeps the one PLAINTEXT listener of ZOMBI_HOST, ZOMBI_KAFKA_PORT and ZOMBI_ADVERTISED_*', () => {
    expect(loadConfig({}).kafkaListeners).toEqual([{ name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092, advertisedHost: '127.0.0.1', advertisedPort: null }])
    expect(loadConfig({ ZOMBI_HOST: '0.0.0.0', ZOMBI_KAFKA_PORT: '9000', ZOMBI_ADVERTISED_HOST: 'kafka.example', ZOMBI_ADVERTISED_KAFKA_PORT: '19000' }).kafkaListeners)
      .toEqual([{ name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: '0.0.0.0', port: 9000, advertisedHost: 'kafka.example', advertisedPort: 19000 }])
  })

  it('reads Kafka\'s syntax: names, the default protocol map, empty hosts, IPv6 and advertised addresses', () => {
    const config = loadConfig({
      ...TLS,
      ZOMBI_HOST: '10.0.0.5',
      ZOMBI_LISTENERS: 'PLAINTEXT://127.0.0.1:9092, SSL://:9093,ssl6://[::]:0',
      ZOMBI_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,SSL:SSL,SSL6:ssl',
      ZOMBI_ADVERTISED_LISTENERS: 'SSL://broker.example:443',
    })
    expect(config.kafkaListeners).toEqual([
      { name: 'PLAINTEXT', protocol: 'PLAINTEXT', host: '127.0.0.1', port: 9092, advertisedHost: '127.0.0.1', advertisedPort: null },
      { name: 'SSL', protocol: 'SSL', host: '10.0.0.5', port: 9093, advertisedHost: 'broker.example', advertisedPort: 443 },
      { name: 'SSL6', protocol: 'SSL', host: '::', port: 0, advertisedHost: '127.0.0.1', advertisedPort: null },
    ])
  })

  it('uses Kafka\'s default map when none is given: a listener named after a protocol has it', () => {
    expect(loadConfig({ ...TLS, ZOMBI_LISTENERS: 'SSL://127.0.0.1:0' }).kafkaListeners[0]!.protocol).toBe('SSL')
    expect(() => loadConfig({ ZOMBI_LISTENERS: 'INTERNAL://127.0.0.1:0' })).toThrow(/listener INTERNAL has no security protocol.*ZOMBI_LISTENER_SECURITY_PROTOCOL_MAP/)
  })

  it.each([
    [{ ZOMBI_LISTENERS: 'PLAINTEXT://127.0.0.1:0', ZOMBI_KAFKA_PORT: '9092' }, /ZOMBI_KAFKA_PORT and ZOMBI_LISTENERS are both set/],
    [{ ZOMBI_LISTENERS: 'PLAINTEXT://127.0.0.1:0', ZOMBI_ADVERTISED_HOST: 'x' }, /ZOMBI_ADVERTISED_HOST and ZOMBI_LISTENERS are both set/],
    [{ ZOMBI_LISTENERS: 'PLAINTEXT://127.0.0.1:0', ZOMBI_ADVERTISED_KAFKA_PORT: '1' }, /ZOMBI_ADVERTISED_KAFKA_PORT and ZOMBI_LISTENERS/],
    [{ ZOMBI_ADVERTISED_LISTENERS: 'PLAINTEXT://x:1' }, /ZOMBI_ADVERTISED_LISTENERS is set without ZOMBI_LISTENERS/],
    [{ ZOMBI_LISTENER_SECURITY_PROTOCOL_MAP: 'A:SSL' }, /ZOMBI_LISTENER_SECURITY_PROTOCOL_MAP is set without ZOMBI_LISTENERS/],
    [{ ZOMBI_LISTENERS: 'PLAINTEXT://127.0.0.1:1,PLAINTEXT://127.0.0.1:2' }, /names listener PLAINTEXT twice/],
    [{ ZOMBI_LISTENERS: 'A://127.0.0.1:1,B://127.0.0.1:1', ZOMBI_LISTENER_SECURITY_PROTOCOL_MAP: 'A:PLAINTEXT,B:PLAINTEXT' }, /binds 127.0.0.1:1 twice/],
    [{ ZOMBI_LISTENERS: '127.0.0.1:9092' }, /not NAME:\/\/host:port/],
    [{ ZOMBI_LISTENERS: 'PLAINTEXT://127.0.0.1:70000' }, /port must be 0-65535/],
    [{ ZOMBI_LISTENERS: 'A://127.0.0.1:1', ZOMBI_LISTENER_SECURITY_PROTOCOL_MAP: 'A:TLS' }, /protocol is one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/],
    [{ ZOMBI_LISTENERS: 'PLAINTEXT://127.0.0.1:1', ZOMBI_ADVERTISED_LISTENERS: 'OTHER://x:1' }, /names listener OTHER, which ZOMBI_LISTENERS does not have/],
    [{ ZOMBI_LISTENERS: 'PLAINTEXT://0.0.0.0:1', ZOMBI_ADVERTISED_LISTENERS: 'PLAINTEXT://0.0.0.0:1' }, /clients cannot connect to it/],
  ])('refuses contradictory or malformed listener settings: %o', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message)
  })

  it('needs the certificate and key with a TLS listener, and refuses TLS settings that nothing would use', () => {
    expect(() => loadConfig({ ZOMBI_LISTENERS: 'SSL://127.0.0.1:0' })).toThrow(/listener SSL uses SSL: set ZOMBI_TLS_CERT_FILE and ZOMBI_TLS_KEY_FILE/)
    expect(() => loadConfig({ ...TLS })).toThrow(/ZOMBI_TLS_CERT_FILE is set but nothing uses TLS/)
    expect(() => loadConfig({ ZOMBI_TLS_CLIENT_AUTH: 'required' })).toThrow(/ZOMBI_TLS_CLIENT_AUTH is set but no listener uses TLS/)
    expect(() => loadConfig({ ...TLS, ZOMBI_LISTENERS: 'SSL://127.0.0.1:0', ZOMBI_TLS_CLIENT_AUTH: 'required' })).toThrow(/ZOMBI_TLS_CLIENT_AUTH=required needs ZOMBI_TLS_CA_FILE/)
    expect(loadConfig({ ...TLS, ZOMBI_LISTENERS: 'SSL://127.0.0.1:0', ZOMBI_TLS_CLIENT_AUTH: 'required', ZOMBI_TLS_CA_FILE: '/etc/zombi/ca.pem' }).tlsClientAuth).toBe('required')
  })

  it('formats advertised listeners as Kafka does, IPv6 in brackets', () => {
    expect(formatListeners([{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9092 }, { name: 'SSL', host: '::1', port: 9093 }])).toBe('PLAINTEXT://127.0.0.1:9092,SSL://[::1]:9093')
  })

  it('enables SCRAM by default on SASL listeners and refuses SASL settings nothing would use', () => {
    const sasl = { ZOMBI_LISTENERS: 'SASL_PLAINTEXT://127.0.0.1:0' }
    expect(loadConfig(sasl).saslEnabledMechanisms).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512'])
    expect(loadConfig({}).saslEnabledMechanisms).toEqual([])
    expect(loadConfig({ ...sasl, ZOMBI_SASL_MECHANISMS: 'plain, SCRAM-SHA-512' }).saslEnabledMechanisms).toEqual(['PLAIN', 'SCRAM-SHA-512'])
    expect(() => loadConfig({ ZOMBI_SASL_MECHANISMS: 'PLAIN' })).toThrow(/ZOMBI_SASL_MECHANISMS is set but no listener uses SASL/)
    expect(() => loadConfig({ ZOMBI_SASL_USERS_FILE: '/etc/users' })).toThrow(/ZOMBI_SASL_USERS_FILE is set but nothing checks passwords/)
    expect(() => loadConfig({ ZOMBI_SASL_SESSION_LIFETIME_MS: '1000' })).toThrow(/ZOMBI_SASL_SESSION_LIFETIME_MS is set but no listener uses SASL/)
    expect(() => loadConfig({ ...sasl, ZOMBI_SASL_MECHANISMS: 'GSSAPI' })).toThrow(/names GSSAPI: the mechanisms are PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER/)
    expect(() => loadConfig({ ...sasl, ZOMBI_SASL_MECHANISMS: 'PLAIN,PLAIN' })).toThrow(/twice/)
    expect(() => loadConfig({ ...sasl, ZOMBI_SASL_MECHANISMS: 'OAUTHBEARER' })).toThrow(/OAUTHBEARER and HTTP bearer tokens need exactly one of ZOMBI_SASL_OAUTHBEARER_JWKS_FILE and ZOMBI_SASL_OAUTHBEARER_JWKS_URL/)
    expect(() => loadConfig({ ...sasl, ZOMBI_SASL_MECHANISMS: 'OAUTHBEARER', ZOMBI_SASL_OAUTHBEARER_JWKS_URL: 'ftp://x' })).toThrow(/expected an http/)
    expect(() => loadConfig({ ...sasl, ZOMBI_SASL_OAUTHBEARER_ISSUER: 'https://idp' })).toThrow(/ZOMBI_SASL_OAUTHBEARER_ISSUER is set but nothing takes tokens/)
    expect(() => loadConfig({ ...sasl, ZOMBI_SASL_MECHANISMS: 'OAUTHBEARER', ZOMBI_SASL_OAUTHBEARER_JWKS_FILE: '/k.json', ZOMBI_SASL_USERS_FILE: '/u' })).toThrow(/ZOMBI_SASL_USERS_FILE is set but nothing checks passwords/)
    expect(loadConfig({ ...sasl, ZOMBI_SASL_MECHANISMS: 'OAUTHBEARER', ZOMBI_SASL_OAUTHBEARER_JWKS_FILE: '/k.json' }).oauthJwksFile).toBe('/k.json')
    expect(() => loadConfig({ ...sasl, ZOMBI_SASL_SCRAM_ITERATIONS: '1000' })).toThrow(/must be >= 4096/)
  })

  it('secures the HTTP door with the same files, users and tokens, and refuses settings it would not use', () => {
    const tls = { ZOMBI_TLS_CERT_FILE: '/c.pem', ZOMBI_TLS_KEY_FILE: '/k.pem' }
    expect(loadConfig({ ...tls, ZOMBI_HTTP_TLS: 'true' }).httpTls).toBe(true)
    expect(() => loadConfig({ ZOMBI_HTTP_TLS: 'true' })).toThrow(/ZOMBI_HTTP_TLS=true: set ZOMBI_TLS_CERT_FILE and ZOMBI_TLS_KEY_FILE/)
    expect(() => loadConfig({ ...tls, ZOMBI_HTTP_TLS: 'true', ZOMBI_TLS_CLIENT_AUTH: 'required', ZOMBI_TLS_CA_FILE: '/ca.pem' })).toThrow(/ZOMBI_TLS_CLIENT_AUTH is set but no listener uses TLS/)
    const basic = loadConfig({ ZOMBI_HTTP_AUTH: 'basic', ZOMBI_SASL_USERS_FILE: '/u.txt' })
    expect(basic).toMatchObject({ httpAuthSchemes: ['basic'], saslUsersFile: '/u.txt', allowIfNoAcl: false })
    expect(loadConfig({}).allowIfNoAcl).toBe(true)
    expect(loadConfig({ ZOMBI_HTTP_AUTH: 'basic', ZOMBI_ALLOW_EVERYONE_IF_NO_ACL_FOUND: 'true' }).allowIfNoAcl).toBe(true)
    expect(loadConfig({ ZOMBI_HTTP_AUTH: 'Bearer, basic', ZOMBI_SASL_OAUTHBEARER_JWKS_FILE: '/k.json' }).httpAuthSchemes).toEqual(['bearer', 'basic'])
    expect(() => loadConfig({ ZOMBI_HTTP_AUTH: 'bearer' })).toThrow(/need exactly one of ZOMBI_SASL_OAUTHBEARER_JWKS_FILE/)
    expect(() => loadConfig({ ZOMBI_HTTP_AUTH: 'digest' })).toThrow(/ZOMBI_HTTP_AUTH="digest" is invalid/)
    expect(() => loadConfig({ ZOMBI_HTTP_AUTH: 'basic,basic' })).toThrow(/is invalid/)
    expect(() => loadConfig({ ZOMBI_HTTP_METRICS_OPEN: 'true' })).toThrow(/ZOMBI_HTTP_METRICS_OPEN is set but ZOMBI_HTTP_AUTH=none/)
    expect(() => loadConfig({ ZOMBI_SUPER_USERS: 'admin' })).toThrow(/principals are Type:name/)
    expect(loadConfig({ ZOMBI_SUPER_USERS: 'User:admin; User:CN=ops,O=Acme' }).superUserList).toEqual(['User:admin', 'User:CN=ops,O=Acme'])
  })
})
