// aiokafka (PyPI, asyncio) against Zombi: compat-tests/aiokafka/driver.py per scenario.
import { runFamilyMain } from '../lib/family.ts'
import { pythonPackageVersion, venvPython } from '../lib/python.ts'

runFamilyMain({
  family: 'aiokafka',
  client: 'aiokafka',
  version: () => pythonPackageVersion('aiokafka'),
  driver: { command: [venvPython(), 'compat-tests/aiokafka/driver.py'] },
})
