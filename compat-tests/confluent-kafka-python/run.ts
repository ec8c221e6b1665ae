// confluent-kafka (PyPI, librdkafka inside) against Zombi: compat-tests/confluent-kafka-python/driver.py per scenario.
import { runProcess } from '../../test/e2e/fixtures/kcat.ts'
import { runFamilyMain } from '../lib/family.ts'
import { pythonPackageVersion, venvPython } from '../lib/python.ts'

async function version(): Promise<string> {
  // confluent_kafka.version() is not the package version (it printed "2" for 2.16.1); ask pip's metadata.
  const result = await runProcess(venvPython(), ['-c', 'import confluent_kafka as k; print(k.libversion()[0])'])
  if (result.code !== 0) throw new Error(`confluent-kafka does not load: ${result.stderr.trim()}`)
  return `${await pythonPackageVersion('confluent-kafka')} (librdkafka ${result.stdout.toString('utf8').trim()})`
}

runFamilyMain({
  family: 'confluent-kafka-python',
  client: 'confluent-kafka (Python)',
  version,
  driver: { command: [venvPython(), 'compat-tests/confluent-kafka-python/driver.py'] },
})
