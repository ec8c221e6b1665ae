// Describes where and on what a benchmark ran, for the results file and docs/benchmarks.md.
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const repoRoot = path.resolve(import.meta.dirname, '../..')

export interface Machine {
  cores: number
  cpuModel: string
  memoryGiB: number
  node: string
  kcat: string
  platformaticKafka: string
  /** The JVM that runs Apache Kafka in bench:compare, e.g. `openjdk 17.0.15`. */
  java?: string
}

function firstLine(command: string, args: string[], pattern?: RegExp): string {
  const probe = spawnSync(command, args, { encoding: 'utf8', cwd: repoRoot })
  if (probe.status !== 0) return 'unknown'
  const lines = probe.stdout.split('\n')
  return (pattern ? lines.find((line) => pattern.test(line)) : lines[0])?.trim() ?? 'unknown'
}

/** `1.7.1 (librdkafka 2.0.2)` from kcat -V's `Version 1.7.1 (JSON, ..., librdkafka 2.0.2 builtin.features=...)`. */
function kcatVersion(): string {
  const line = firstLine(process.env.KCAT ?? 'kcat', ['-V'], /^Version/)
  const match = /^Version (\S+) .*(librdkafka \S+)/.exec(line)
  return match ? `${match[1]} (${match[2]})` : line
}

/** `openjdk 17.0.15` from `java -version` (which prints to stderr). */
export function javaVersion(): string {
  const probe = spawnSync('java', ['-version'], { encoding: 'utf8' })
  const match = /^(\S+) version "([^"]+)"/m.exec(probe.stderr ?? '')
  return match ? `${match[1]} ${match[2]}` : 'unknown'
}

export function describeMachine(): Machine {
  const platformaticPackage = JSON.parse(readFileSync(path.join(repoRoot, 'node_modules/@platformatic/kafka/package.json'), 'utf8')) as { version: string }
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kcat: kcatVersion(),
    platformaticKafka: platformaticPackage.version,
  }
}
