// confluent-kafka (PyPI, librdkafka inside) against Zombi: compat-tests/confluent-kafka-python/driver.py per scenario.
import { runProcess } from '../../test/e2e/fixtures/kcat.ts'
import { runFamilyMain } from '../lib/family.ts'
import { venvPython } from '../lib/python.ts'

async function version(): Promise<string> {
  const result = await runProcess(venvPython(), ['-c', 'import confluent_kafka as k; print(k.version()[0], k.libversion()[0])'])
  if (result.code !== 0) throw new Error(`confluent-kafka does not load: ${result.stderr.trim()}`)
  const [client, librdkafka] = result.stdout.toString('utf8').trim().split(' ')
  return `${client} (librdkafka ${librdkafka})`
}

runFamilyMain({
  family: 'confluent-kafka-python',
  client: 'confluent-kafka (Python)',
  version,
  driver: { command: [venvPython(), 'compat-tests/confluent-kafka-python/driver.py'] },
})
