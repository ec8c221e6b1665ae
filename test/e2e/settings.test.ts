// Settings as the real process sees them: an environment variable that is no setting is named at
// start with the setting it most likely meant, and the broker starts anyway.
import { afterAll, beforeAll, expect, test } from 'vitest'
import { startBroker, type Broker } from './fixtures/broker.ts'

let broker: Broker

beforeAll(async () => {
  broker = await startBroker({ ZOMBI_S3_BUKET: 'events', ZOMBI_FLUSH_INTERVAL_SEC: '1' })
})

afterAll(async () => {
  await broker?.cleanup()
})

test('unknown ZOMBI_* variables are warned about at start, each with the nearest known setting', async () => {
  // A real setting that would be ignored (ZOMBI_S3_BUCKET without ZOMBI_STORAGE=s3) stops the process
  // instead; test/config covers those combinations.
  const warnings = broker.logs().split('\n').filter((line) => line.includes('is not a Zombi setting')).map((line) => JSON.parse(line) as Record<string, unknown>)
  expect(warnings.map((w) => [w.level, w.variable, w.nearest])).toEqual([
    [40, 'ZOMBI_FLUSH_INTERVAL_SEC', 'ZOMBI_FLUSH_INTERVAL_SECS'],
    [40, 'ZOMBI_S3_BUKET', 'ZOMBI_S3_BUCKET'],
  ])
  expect((await fetch(`${broker.httpUrl}/health/ready`)).status).toBe(200)
})
