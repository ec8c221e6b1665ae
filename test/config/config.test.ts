import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { loadConfig, parseFlags, renderSettings } from '../../src/config/index.ts'
import { ZombiError } from '../../src/errors.ts'

describe('config', () => {
  it('uses the documented defaults on an empty environment', () => {
    const config = loadConfig({})
    expect(config.kafkaPort).toBe(9092)
    expect(config.httpPort).toBe(8080)
    expect(config.host).toBe('127.0.0.1')
    expect(config.durability).toBe('fsync')
    expect(config.autoCreateTopics).toBe(true)
    expect(config.defaultPartitions).toBe(1)
    expect(config.maxRequestBytes).toBe(100 * 1024 * 1024)
    expect(config.dataDir.endsWith('/data')).toBe(true)
    expect(config.advertisedHost).toBe('127.0.0.1')
  })

  it('reads ZOMBI_* variables and lets flags win over them', () => {
    const config = loadConfig({ ZOMBI_KAFKA_PORT: '9093', ZOMBI_AUTO_CREATE_TOPICS: 'false' }, ['--ZOMBI_KAFKA_PORT=9094', '--ZOMBI_DURABILITY', 'none'])
    expect(config.kafkaPort).toBe(9094)
    expect(config.durability).toBe('none')
    expect(config.autoCreateTopics).toBe(false)
  })

  it('advertises loopback when binding to a wildcard address', () => {
    expect(loadConfig({ ZOMBI_HOST: '0.0.0.0' }).advertisedHost).toBe('127.0.0.1')
    expect(loadConfig({ ZOMBI_HOST: '0.0.0.0', ZOMBI_ADVERTISED_HOST: 'broker.local' }).advertisedHost).toBe('broker.local')
  })

  it.each([
    [{ ZOMBI_KAFKA_PORT: 'abc' }, /ZOMBI_KAFKA_PORT="abc" is invalid: expected an integer/],
    [{ ZOMBI_KAFKA_PORT: '70000' }, /ZOMBI_KAFKA_PORT="70000" is invalid: must be <= 65535/],
    [{ ZOMBI_DURABILITY: 'sometimes' }, /ZOMBI_DURABILITY="sometimes" is invalid: allowed values: fsync, none/],
    [{ ZOMBI_AUTO_CREATE_TOPICS: 'maybe' }, /ZOMBI_AUTO_CREATE_TOPICS="maybe" is invalid: expected true or false/],
    [{ ZOMBI_DEFAULT_PARTITIONS: '0' }, /ZOMBI_DEFAULT_PARTITIONS="0" is invalid: must be >= 1/],
  ])('names the variable and what is allowed for %j', (env, message) => {
    expect(() => loadConfig(env)).toThrow(message)
    expect(() => loadConfig(env)).toThrow(ZombiError)
  })

  it('rejects unknown flags and flags without a value', () => {
    expect(() => parseFlags(['--ZOMBI_NOPE=1'])).toThrow(/unknown setting ZOMBI_NOPE/)
    expect(() => parseFlags(['--ZOMBI_PORT'])).toThrow(/ZOMBI_PORT needs a value/)
    expect(() => parseFlags(['stray'])).toThrow(/unexpected argument/)
  })

  it('keeps docs/config.md in step with the settings table (npm run docs:config)', () => {
    const docs = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8')
    expect(docs).toBe(renderSettings('markdown'))
  })
})
