// Apache Kafka as a BrokerUnderTest: fetched once from the Maven registry into .cache (bench/kafka/fetch.sh),
// started as a single-node KRaft broker (broker + controller in one JVM) on loopback, ephemeral ports and a
// fresh temp log dir, with the JVM options of Kafka's own kafka-server-start.sh. Also runs Kafka's Java tools.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { rejectIfGoneBeforeReady, stopProcess, waitUntilIdle, type BrokerUnderTest, type RunningBroker } from './broker.ts'
import { removeOnExit } from './cleanup.ts'
import { freePort } from '../../test/support/ports.ts'
import type { BenchSecurity } from './secure.ts'
import { oneNodeServerProperties } from './kafka-properties.ts'

export const kafkaVersion = '4.4.0'
const kafkaDir = path.resolve(import.meta.dirname, '../kafka')
const log4jConfig = path.join(kafkaDir, 'log4j2.properties')
const readyTimeoutMs = 60_000
const stopTimeoutMs = 60_000
const maxOutputChars = 64 * 1024
/** kafka-server-start.sh's heap and GC options, so Kafka runs as its own scripts would run it. */
const brokerJvmOptions = [
  '-Xmx1G', '-Xms1G', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', '-XX:InitiatingHeapOccupancyPercent=35',
  '-XX:+ExplicitGCInvokesConcurrent', '-Djava.awt.headless=true',
]

/**
 * Makes sure the Kafka jars are in .cache (a no-op when they are; the first time Maven fetches ~55 MB) and returns
 * the libs directory.
 */
export function fetchKafka(): string {
  const result = spawnSync('bash', [path.join(kafkaDir, 'fetch.sh')], {
    encoding: 'utf8', env: { ...process.env, KAFKA_VERSION: kafkaVersion }, stdio: ['ignore', 'pipe', 'inherit'],
  })
  const libs = result.stdout?.trim().split('\n').at(-1)
  if (result.status !== 0 || !libs) throw new Error(`bench/kafka/fetch.sh failed (exit ${result.status})`)
  return libs
}

/** `java …` arguments that run `mainClass` from Kafka's jars with the bench's log4j config. */
export function javaArgs(libs: string, jvmOptions: string[], mainClass: string, args: string[]): string[] {
  return [...jvmOptions, '-cp', `${libs}/*`, `-Dlog4j2.configurationFile=${log4jConfig}`, mainClass, ...args]
}

const liveChildren = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL')
})

/** Spawns `java` and keeps it in the set of children killed if the bench exits early. */
export function spawnJava(args: string[], cwd?: string): ChildProcess {
  const child = spawn('java', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  liveChildren.add(child)
  child.once('exit', () => liveChildren.delete(child))
  return child
}


/**
 * A cluster id as `kafka-storage random-uuid` prints it (base64url of 16 random bytes), without starting a JVM.
 * Like Kafka's Uuid.randomUuid it never starts with '-', which the tool's argument parser would take for an option.
 */
function clusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url')
    if (!id.startsWith('-')) return id
  }
}

/** A SASL_SSL listener (SCRAM-SHA-512, PEM keystore) beside PLAINTEXT, for the TLS + SCRAM pair. */
function secureProperties(security: BenchSecurity, brokerPort: number, securePort: number, controllerPort: number): Record<string, string> {
  return {
    listeners: `PLAINTEXT://127.0.0.1:${brokerPort},SASL_SSL://127.0.0.1:${securePort},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${brokerPort},SASL_SSL://127.0.0.1:${securePort}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
    'sasl.enabled.mechanisms': security.mechanism,
    [`listener.name.sasl_ssl.${security.mechanism.toLowerCase()}.sasl.jaas.config`]: 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': security.keystoreFile,
  }
}

function serverProperties(dir: string, brokerPort: number, controllerPort: number, settings: Record<string, string>): string {
  return oneNodeServerProperties({ host: '127.0.0.1', brokerPort, controllerPort, logDir: path.join(dir, 'logs'), settings })
}

let formattedLogDir: Promise<string> | undefined
/** The SCRAM user of the TLS + SCRAM pair, added to each such Kafka at start; makeBenchSecurity() uses the same one. */
export const benchScramUser = { mechanism: 'SCRAM-SHA-512', username: 'bench', password: 'bench-scram-secret' } as const

/**
 * A log dir formatted once per invocation (kafka-storage format is a JVM start, ~2.5 s here); every broker start
 * copies it. The copies share the cluster and directory ids, which is harmless for brokers that never meet.
 */
function formatOnce(libs: string): Promise<string> {
  formattedLogDir ??= (async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'zombi-bench-kafka-format-'))
    removeOnExit(dir)
    const propertiesFile = path.join(dir, 'server.properties')
    await writeFile(propertiesFile, serverProperties(dir, 9092, 9093, {}))
    // The SCRAM user of the TLS + SCRAM pair goes into the bootstrap metadata, the documented way for KRaft (a
    // broker without a SASL listener never asks for it).
    const scram = `${benchScramUser.mechanism}=[name=${benchScramUser.username},password=${benchScramUser.password}]`
    const format = spawnSync('java', javaArgs(libs, ['-Xmx512M'], 'kafka.tools.StorageTool', [
      'format', '-t', clusterId(), '-c', propertiesFile, '--add-scram', scram,
    ]), { encoding: 'utf8' })
    if (format.status !== 0) throw new Error(`kafka-storage format failed: ${format.stdout}${format.stderr}`)
    return path.join(dir, 'logs')
  })()
  return formattedLogDir
}

/** Apache Kafka with `settings` (server.properties keys) over the single-node defaults above. */
export function apacheKafka(libs: string, name: string, settings: Record<string, string>, security?: BenchSecurity): BrokerUnderTest {
  return { name, settings, start: () => startKafka(libs, settings, security) }
}

async function startKafka(libs: string, settings: Record<string, string>, security?: BenchSecurity): Promise<RunningBroker> {
  const dir = await mkdtemp(path.join(tmpdir(), 'zombi-bench-kafka-'))
  const kept = removeOnExit(dir)
  let child: ChildProcess | undefined
  let output = ''
  const failure = (what: string): Error => new Error(`apache kafka (${JSON.stringify(settings)}) ${what}; its last output:\n${output}`)
  try {
    const brokerPort = await freePort()
    const controllerPort = await freePort()
    const securePort = security === undefined ? undefined : await freePort()
    const propertiesFile = path.join(dir, 'server.properties')
    const secure = security === undefined ? {} : secureProperties(security, brokerPort, securePort!, controllerPort)
    await writeFile(propertiesFile, serverProperties(dir, brokerPort, controllerPort, { ...secure, ...settings }))
    await cp(await formatOnce(libs), path.join(dir, 'logs'), { recursive: true })

    child = spawn('java', javaArgs(libs, brokerJvmOptions, 'kafka.Kafka', [propertiesFile]), { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] })
    const broker = child
    liveChildren.add(broker)
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      broker.once('exit', (code, signal) => {
        liveChildren.delete(broker)
        resolve({ code, signal })
      })
    })
    const keep = (chunk: string): void => {
      output = (output + chunk).slice(-maxOutputChars)
    }
    broker.stderr!.setEncoding('utf8').on('data', keep)
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(failure(`did not log "Kafka Server started" within ${readyTimeoutMs} ms`)), readyTimeoutMs)
      broker.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
        keep(chunk)
        if (output.includes('Kafka Server started')) {
          clearTimeout(timer)
          resolve()
        }
      })
      rejectIfGoneBeforeReady(broker, exited, timer, reject, failure)
    })
    return {
      bootstrap: `127.0.0.1:${securePort ?? brokerPort}`,
      ...(securePort === undefined ? {} : { adminBootstrap: `127.0.0.1:${brokerPort}` }),
      pid: broker.pid!,
      // Kafka has no background work the bench caused that would not also run during a measurement; wait for idle CPU.
      async settle() {
        await waitUntilIdle(broker.pid!)
      },
      async stop() {
        try {
          // The JVM ends with 128 + 15 after its shutdown hooks ran on SIGTERM.
          await stopProcess(broker, exited, stopTimeoutMs, [0, 143], failure)
        } finally {
          await rm(dir, { recursive: true, force: true })
          kept()
        }
      },
    }
  } catch (error) {
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((resolve) => child!.once('exit', resolve))
      child.kill('SIGKILL')
      await gone
    }
    await rm(dir, { recursive: true, force: true })
    kept()
    throw error
  }
}
