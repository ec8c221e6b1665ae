// sarama (Go module proxy) against Zombi: the Go driver in this folder (main.go), built by setup.sh.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { runProcess } from '../../test/e2e/fixtures/kcat.ts'
import { runFamilyMain } from '../lib/family.ts'
import { familyDir } from '../lib/results.ts'

const driver = join(familyDir('sarama'), '.deps/driver')
if (!existsSync(driver)) throw new Error(`${driver} not found; build it with: bash compat-tests/sarama/setup.sh`)

runFamilyMain({
  family: 'sarama',
  client: 'sarama',
  // The version the driver was linked with, from its Go build info (go.mod pins it).
  version: async () => `${(await runProcess(driver, ['version'])).stdout.toString('utf8').trim()} (IBM/sarama)`,
  driver: { command: [driver] },
  skips: { 'kip848-group': 'sarama has only the classic group protocol (JoinGroup/SyncGroup); no KIP-848 consumer' },
})
