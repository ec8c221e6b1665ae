// KIP-848 subscriptions by regular expression (subscribed_topic_regex). Kafka evaluates them with
// RE2/J, matching whole topic names; this takes the part of that syntax JavaScript means the same
// way and refuses the rest, so no pattern quietly matches other topics than on Kafka.

export type TopicPattern = RegExp

/** Constructs RE2 refuses (lookaround, backreferences, possessive quantifiers) or JavaScript reads otherwise. */
const REFUSED: Array<[RegExp, string]> = [
  [/\(\?<?[=!]/, 'lookahead and lookbehind are not RE2 syntax'],
  [/\\[1-9]/, 'backreferences are not RE2 syntax'],
  [/[*+?}]\+/, 'possessive quantifiers are not RE2 syntax'],
  [/\[\[:/, 'POSIX character classes ([[:alpha:]]) are not supported here'],
  [/\\[pP]/, 'Unicode classes (\\p) are not supported here'],
  [/\\[CQE]/, '\\C, \\Q and \\E are not supported here'],
  [/\(\?[a-zA-Z]*[^a-zA-Z:)<P]/, 'unknown group flag'],
]

/**
 * The pattern for a RE2/J expression, or the reason it is refused. Supported beyond plain
 * JavaScript syntax: (?P<name>...) groups, leading (?i), (?s) and (?m) flags, \A and \z anchors.
 */
export function compileTopicRegex(source: string): TopicPattern | string {
  if (source.length === 0) return 'the regular expression is empty'
  let body = source
  let flags = ''
  const leading = /^\(\?([a-zA-Z]+)\)/.exec(body)
  if (leading !== null) {
    for (const flag of leading[1]!) {
      if (flag !== 'i' && flag !== 's' && flag !== 'm') return `flag ${flag} is not supported here (i, s and m are)`
      if (!flags.includes(flag)) flags += flag
    }
    body = body.slice(leading[0].length)
  }
  for (const [construct, why] of REFUSED) if (construct.test(body)) return why
  body = body.replace(/\(\?P</g, '(?<').replace(/\\A/g, '^').replace(/\\z/g, '$')
  try {
    // RE2/J's matches(): the whole topic name.
    return new RegExp(`^(?:${body})$`, flags)
  } catch (error) {
    return (error as Error).message
  }
}
