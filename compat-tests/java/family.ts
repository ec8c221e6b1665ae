// The Java families (java-3, java-4): one driver program (this folder's Maven project), built by
// setup.sh against each kafka-clients line into .deps/build-<line>, run once per scenario.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { runFamilyMain } from '../lib/family.ts'
import { compatRoot } from '../lib/results.ts'

export type KafkaClientsLine = '3' | '4'

const javaDir = join(compatRoot, 'java')

export function buildDir(line: KafkaClientsLine): string {
  return join(javaDir, '.deps', `build-${line}`)
}

/** `java ... dev.zombi.compat.Main` for one line; throws if setup.sh has not built it. */
export function javaCommand(line: KafkaClientsLine): string[] {
  const build = buildDir(line)
  const classpathFile = join(build, 'classpath.txt')
  if (!existsSync(classpathFile)) throw new Error(`${classpathFile} not found; build it with: bash compat-tests/java/setup.sh ${line}`)
  const classpath = `${join(build, 'classes')}:${readFileSync(classpathFile, 'utf8').trim()}`
  // Short-lived JVMs on two cores: C1 only and the serial collector start fastest.
  return ['java', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', classpath, 'dev.zombi.compat.Main']
}

export function clientVersion(line: KafkaClientsLine): string {
  return readFileSync(join(buildDir(line), 'version'), 'utf8').trim()
}

export function runJavaFamily(line: KafkaClientsLine): void {
  runFamilyMain({
    family: `java-${line}`,
    client: `kafka-clients (Java) ${line}.x`,
    version: async () => `${clientVersion(line)} (${javaRuntime(line)})`,
    driver: { command: javaCommand(line) },
  })
}

/** The JDK the driver was built and runs with: setup.sh's stamp holds `java -version`'s first line. */
function javaRuntime(line: KafkaClientsLine): string {
  const stamp = readFileSync(join(buildDir(line), 'stamp'), 'utf8')
  const match = /version "([^"]+)"/.exec(stamp)
  return match ? `JDK ${match[1]}` : 'JDK'
}
