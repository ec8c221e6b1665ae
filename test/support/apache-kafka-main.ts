// Apache Kafka 4.4.0 (KRaft, one node: broker and controller in one JVM) behind Zombi's start contract, for
// E2E_BROKER_MAIN=test/support/apache-kafka-main.ts: ZOMBI_* settings in, the "zombi ready" line out, SIGTERM for a
// clean stop. End-to-end tests then run unchanged against the reference broker, to tell a wrong test from a wrong
// server. The jars are bench/kafka/fetch.sh's (Maven Central, cached in .cache).
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { freePort } from './ports.ts'
import { oneNodeServerProperties } from '../../bench/lib/kafka-properties.ts'

const repoRoot = path.resolve(import.meta.dirname, '../..')
const readyTimeoutMs = 120_000

/** What Zombi settings mean on Kafka; a setting missing here and not ignored below is refused. */
const mapped: Record<string, (value: string) => Record<string, string>> = {
  ZOMBI_DEFAULT_PARTITIONS: (value) => ({ 'num.partitions': value }),
  ZOMBI_AUTO_CREATE_TOPICS: (value) => ({ 'auto.create.topics.enable': value }),
  ZOMBI_GROUP_MIN_SESSION_TIMEOUT_MS: (value) => ({ 'group.min.session.timeout.ms': value }),
  ZOMBI_GROUP_MAX_SESSION_TIMEOUT_MS: (value) => ({ 'group.max.session.timeout.ms': value }),
}
/** Settings with no bearing on what a Kafka client sees from this broker. */
const ignored = new Set(['ZOMBI_DATA_DIR', 'ZOMBI_HOST', 'ZOMBI_KAFKA_PORT', 'ZOMBI_PORT', 'ZOMBI_LOG_LEVEL', 'ZOMBI_DURABILITY'])

function fail(message: string): never {
  process.stderr.write(`apache-kafka-main: ${message}\n`)
  process.exit(1)
}

const dataDir = process.env.ZOMBI_DATA_DIR ?? fail('ZOMBI_DATA_DIR is required')
const host = process.env.ZOMBI_HOST ?? '127.0.0.1'
const settings: Record<string, string> = {}
const refused: string[] = []
for (const [name, value] of Object.entries(process.env)) {
  if (!name.startsWith('ZOMBI_') || value === undefined || ignored.has(name)) continue
  const map = mapped[name]
  if (map === undefined) refused.push(name)
  else Object.assign(settings, map(value))
}
if (refused.length > 0) fail(`no Apache Kafka equivalent for ${refused.sort().join(', ')}; this test needs Zombi`)

const kafkaPort = Number(process.env.ZOMBI_KAFKA_PORT ?? '0') || await freePort()
const controllerPort = await freePort()
const libs = spawnSync('bash', [path.join(repoRoot, 'bench/kafka/fetch.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  .stdout?.trim().split('\n').at(-1) ?? fail('bench/kafka/fetch.sh failed')
const logDir = path.join(dataDir, 'kafka-logs')
await mkdir(dataDir, { recursive: true })
const propertiesFile = path.join(dataDir, 'server.properties')
await writeFile(propertiesFile, oneNodeServerProperties({ host, brokerPort: kafkaPort, controllerPort, logDir, settings }))

const java = (heap: string, mainClass: string, args: string[]): string[] => [
  `-Xmx${heap}`, '-XX:+UseG1GC', '-Djava.awt.headless=true', '-cp', `${libs}/*`,
  `-Dlog4j2.configurationFile=${path.join(repoRoot, 'bench/kafka/log4j2.properties')}`, mainClass, ...args,
]

// A restart finds the formatted dir; only the first start formats it (a cluster id as kafka-storage random-uuid prints it).
if (!existsSync(path.join(logDir, 'meta.properties'))) {
  let clusterId = randomBytes(16).toString('base64url')
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url')
  const format = spawnSync('java', java('512M', 'kafka.tools.StorageTool', ['format', '-t', clusterId, '-c', propertiesFile]), { encoding: 'utf8' })
  if (format.status !== 0) fail(`kafka-storage format failed: ${format.stdout}${format.stderr}`)
}

// The JVM runs under a bash that also watches this process's stdin pipe: when this process dies, even by SIGKILL,
// the pipe closes and the JVM is killed with it, as kill9() of the fixture expects of a broker. (A background job of
// a non-interactive bash reads /dev/null unless told otherwise, hence the stdin kept as fd 3.)
const child = spawn('bash', ['-c', 'exec 3<&0; java "$@" </dev/null & pid=$!; echo "java-pid $pid"; (cat <&3 >/dev/null; kill -9 $pid 2>/dev/null) & wait $pid', 'bash',
  ...java('1G', 'kafka.Kafka', [propertiesFile])], { stdio: ['pipe', 'pipe', 'inherit'] })
let javaPid: number | undefined
let ready = false
let stopping = false
let pending = ''
const timer = setTimeout(() => fail(`Kafka did not log "Kafka Server started" within ${readyTimeoutMs} ms`), readyTimeoutMs)
child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
  pending += chunk
  let newline = pending.indexOf('\n')
  while (newline >= 0) {
    const line = pending.slice(0, newline)
    pending = pending.slice(newline + 1)
    newline = pending.indexOf('\n')
    const pid = /^java-pid (\d+)$/.exec(line)
    if (pid) {
      javaPid = Number(pid[1])
      continue
    }
    process.stderr.write(`${line}\n`)
    if (!ready && line.includes('Kafka Server started')) {
      ready = true
      clearTimeout(timer)
      process.stdout.write(`${JSON.stringify({ msg: 'zombi ready', kafkaPort, httpPort: 0, broker: 'apache-kafka' })}\n`)
    }
  }
})
child.once('exit', (code) => {
  clearTimeout(timer)
  // The JVM ends with 128 + 15 after its shutdown hooks ran on SIGTERM: a clean stop. Ending unasked is a failure.
  process.exit(stopping && (code === 0 || code === 143) ? 0 : code || 1)
})
process.on('SIGTERM', () => {
  stopping = true
  if (javaPid !== undefined) process.kill(javaPid, 'SIGTERM')
  else process.exit(0)
})
