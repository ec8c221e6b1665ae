// docker/compose.yaml cannot be run here (no Docker engine), so it is checked on paper: every ZOMBI_*
// variable it sets is a setting, and together they pass the broker's start-up validation.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig, unknownSettings } from '../../src/config/index.ts'

interface Compose {
  services: Record<string, { environment?: Record<string, string>; depends_on?: Record<string, unknown> }>
}

const compose = parse(readFileSync(new URL('../../docker/compose.yaml', import.meta.url), 'utf8')) as Compose

describe('docker/compose.yaml', () => {
  const environment = compose.services.zombi?.environment ?? {}

  it('sets only settings Zombi has, in combinations it accepts', () => {
    expect(unknownSettings(environment)).toEqual([])
    const config = loadConfig(environment)
    expect(config).toMatchObject({ storage: 's3', s3Bucket: 'zombi-lake', s3ForcePathStyle: true })
  })

  it('starts the broker only after the bucket exists', () => {
    expect(compose.services.zombi?.depends_on).toHaveProperty('s3-bucket')
    expect(JSON.stringify(compose.services['s3-bucket'])).toContain(`mb --ignore-existing lake/${environment.ZOMBI_S3_BUCKET}`)
  })
})
