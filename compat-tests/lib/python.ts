// The project's Python venv (.cache/venv, made by scripts/install-test-deps.sh) for the Python families.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { runProcess } from '../../test/e2e/fixtures/kcat.ts'
import { repoRoot } from './results.ts'

export function venvPython(): string {
  const override = process.env.ZOMBI_TEST_PYTHON
  if (override) return override
  const python = join(repoRoot, '.cache/venv/bin/python')
  if (!existsSync(python)) throw new Error(`${python} not found; create it with: bash scripts/install-test-deps.sh`)
  return python
}

/** The installed version of a distribution in the venv, as pip knows it. */
export async function pythonPackageVersion(distribution: string): Promise<string> {
  const result = await runProcess(venvPython(), ['-c', 'import sys; from importlib.metadata import version; print(version(sys.argv[1]))', distribution])
  if (result.code !== 0) throw new Error(`${distribution} is not installed in the venv: ${result.stderr.trim()}`)
  return result.stdout.toString('utf8').trim()
}
