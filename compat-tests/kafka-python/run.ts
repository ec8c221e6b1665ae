// kafka-python (PyPI, pure Python) against Zombi: compat-tests/kafka-python/driver.py per scenario.
import { runFamilyMain } from '../lib/family.ts'
import { pythonPackageVersion, venvPython } from '../lib/python.ts'

runFamilyMain({
  family: 'kafka-python',
  client: 'kafka-python',
  version: () => pythonPackageVersion('kafka-python'),
  driver: { command: [venvPython(), 'compat-tests/kafka-python/driver.py'] },
  skips: { 'kip848-group': 'kafka-python has only the classic group protocol (JoinGroup/SyncGroup); no KIP-848 consumer' },
})
