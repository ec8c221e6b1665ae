// Process entry: settings, then node's flags (a restart if they are missing), then the broker (broker.ts).
// The broker's modules are loaded only once the flags are right, so a restart costs tens of milliseconds.
import { loadConfig, renderSettings, type Config } from './config/index.ts'
import { missingNodeFlags, nodeFlagsFor, overriddenNodeFlags } from './config/node-flags.ts'
import { ZombiError } from './errors.ts'

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`Zombi: a Kafka-wire-compatible broker whose topics are Iceberg tables.\n\nSettings (environment variables or --NAME=value flags):\n${renderSettings('help')}\n`)
    return
  }
  let config: Config
  try {
    config = loadConfig(process.env, argv)
  } catch (error) {
    if (error instanceof ZombiError) {
      process.stderr.write(`zombi: ${error.message}\n`)
      process.exit(2)
    }
    throw error
  }
  const flags = nodeFlagsFor(config)
  const missing = missingNodeFlags(flags, process.execArgv)
  const warnings = overriddenNodeFlags(flags, process.execArgv, process.env.NODE_OPTIONS)
  if (missing.length > 0) {
    if (process.execve === undefined) {
      warnings.push(`this platform cannot restart a process in place (process.execve), so node runs without ${missing.join(' ')}; give node the flags yourself`)
    } else {
      // Same process (pid, open descriptors, environment), new V8: the flags go last, so they win over NODE_OPTIONS
      // and any earlier copy. Once they are there, the restarted process finds nothing missing and goes on.
      process.execve(process.execPath, [process.execPath, ...process.execArgv, ...missing, ...process.argv.slice(1)], process.env)
    }
  }
  const { runBroker } = await import('./broker.ts')
  runBroker(config, warnings)
}

await main()
