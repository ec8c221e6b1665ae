// aiokafka (PyPI, asyncio) against Zombi: compat-tests/aiokafka/driver.py per scenario.
import { runFamilyMain } from '../lib/family.ts'
import { pythonPackageVersion, venvPython } from '../lib/python.ts'

runFamilyMain({
  family: 'aiokafka',
  client: 'aiokafka',
  version: () => pythonPackageVersion('aiokafka'),
  driver: { command: [venvPython(), 'compat-tests/aiokafka/driver.py'] },
  skips: { 'kip848-group': 'aiokafka has only the classic group protocol (JoinGroup/SyncGroup); no KIP-848 consumer' },
})
