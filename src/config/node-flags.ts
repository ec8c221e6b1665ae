// The node (V8) flags the broker's settings ask for. Some of V8's heap limits are read only when an
// isolate is made, so they cannot be set from code once the process runs: main.ts restarts the
// process with them (execve) before loading the broker.
import type { Config } from './index.ts'

const SEMI_SPACE_FLAG = '--max-semi-space-size'

/** The flags `config` asks node to run with. */
export function nodeFlagsFor(config: Pick<Config, 'v8SemiSpaceMib'>): string[] {
  return config.v8SemiSpaceMib === 0 ? [] : [`${SEMI_SPACE_FLAG}=${config.v8SemiSpaceMib}`]
}

/** Which of `wanted` node's own command-line flags (`execArgv`) do not already hold. */
export function missingNodeFlags(wanted: readonly string[], execArgv: readonly string[]): string[] {
  return wanted.filter((flag) => !execArgv.includes(flag))
}

/**
 * Warnings for semi-space sizes given to node by hand (command line or NODE_OPTIONS) that the setting overrides:
 * the restart puts the setting's flag last on the command line, which wins over both.
 */
export function overriddenNodeFlags(wanted: readonly string[], execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const ours = wanted.find((flag) => flag.startsWith(`${SEMI_SPACE_FLAG}=`))
  if (ours === undefined) return []
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)]
    .filter((flag) => (flag.startsWith(`${SEMI_SPACE_FLAG}=`) || flag.startsWith('--max_semi_space_size=')) && flag !== ours)
  return given.map((flag) => `node was given ${flag}; ZOMBI_V8_SEMI_SPACE_MB sets it (${ours}), so ${flag} has no effect`)
}
