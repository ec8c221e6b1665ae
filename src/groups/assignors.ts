// The server-side assignors of consumer-protocol groups (KIP-848): given each member's subscribed
// topics and the previous target assignment, compute the next target. `uniform` balances partition
// counts while keeping as many partitions where they were as it can; `range` gives each member
// consecutive ranges of every topic it subscribes to.

/** Topic name -> ascending partition numbers. */
export type TopicPartitions = Map<string, number[]>

export interface AssignmentMember {
  memberId: string
  /** Topics the member subscribes to that exist (names and resolved regex). */
  topics: ReadonlySet<string>
  /** The member's previous target assignment (stickiness). */
  previous: TopicPartitions
}

export interface AssignmentSpec {
  members: readonly AssignmentMember[]
  /** Partition count of every topic some member subscribes to. */
  partitionCounts: ReadonlyMap<string, number>
}

export interface Assignor {
  readonly name: string
  assign(spec: AssignmentSpec): Map<string, TopicPartitions>
}

export const ASSIGNOR_NAMES = ['uniform', 'range'] as const

function byMemberId(a: AssignmentMember, b: AssignmentMember): number {
  return a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0
}

function sortedTopics(spec: AssignmentSpec): string[] {
  return [...spec.partitionCounts.keys()].sort()
}

/** Builds the per-member result from owner lists, partitions ascending, topics in name order. */
function collect(members: readonly AssignmentMember[], owned: Map<string, Map<string, number[]>>): Map<string, TopicPartitions> {
  const result = new Map<string, TopicPartitions>()
  for (const member of members) {
    const topics = owned.get(member.memberId) ?? new Map<string, number[]>()
    const sorted: TopicPartitions = new Map()
    for (const topic of [...topics.keys()].sort()) {
      const partitions = topics.get(topic)!
      if (partitions.length > 0) sorted.set(topic, [...partitions].sort((a, b) => a - b))
    }
    result.set(member.memberId, sorted)
  }
  return result
}

/**
 * Balanced and sticky: previous owners keep their partitions, partitions without an owner go to the
 * least loaded subscriber, then partitions move one at a time from a member to a subscriber of their
 * topic holding at least two fewer, until no such move is left (every move lowers the imbalance, so it
 * ends). With identical subscriptions that leaves every member within one partition of the others.
 */
export const uniformAssignor: Assignor = {
  name: 'uniform',
  assign(spec) {
    const members = [...spec.members].sort(byMemberId)
    const counts = new Map<string, number>(members.map((m) => [m.memberId, 0]))
    const owner = new Map<string, string>()
    const owned = new Map<string, Map<string, number[]>>(members.map((m) => [m.memberId, new Map()]))
    const give = (memberId: string, topic: string, partition: number): void => {
      owner.set(`${topic}\u0000${partition}`, memberId)
      const topics = owned.get(memberId)!
      let list = topics.get(topic)
      if (list === undefined) topics.set(topic, list = [])
      list.push(partition)
      counts.set(memberId, counts.get(memberId)! + 1)
    }
    const take = (memberId: string, topic: string, partition: number): void => {
      const list = owned.get(memberId)!.get(topic)!
      list.splice(list.indexOf(partition), 1)
      counts.set(memberId, counts.get(memberId)! - 1)
    }
    for (const member of members) {
      for (const [topic, partitions] of member.previous) {
        const count = spec.partitionCounts.get(topic)
        if (count === undefined || !member.topics.has(topic)) continue
        for (const p of partitions) if (p < count && !owner.has(`${topic}\u0000${p}`)) give(member.memberId, topic, p)
      }
    }
    const subscribers = new Map<string, AssignmentMember[]>()
    for (const topic of sortedTopics(spec)) subscribers.set(topic, members.filter((m) => m.topics.has(topic)))
    const leastLoaded = (candidates: AssignmentMember[]): AssignmentMember | undefined => {
      let best: AssignmentMember | undefined
      for (const m of candidates) if (best === undefined || counts.get(m.memberId)! < counts.get(best.memberId)!) best = m
      return best
    }
    for (const [topic, candidates] of subscribers) {
      const count = spec.partitionCounts.get(topic)!
      for (let p = 0; p < count; p++) {
        if (owner.has(`${topic}\u0000${p}`)) continue
        const target = leastLoaded(candidates)
        if (target !== undefined) give(target.memberId, topic, p)
      }
    }
    for (;;) {
      let moved = false
      // The most loaded members give first; the partition moved is the highest of a topic the receiver subscribes to.
      const byLoad = [...members].sort((a, b) => counts.get(b.memberId)! - counts.get(a.memberId)! || byMemberId(a, b))
      outer: for (const from of byLoad) {
        const load = counts.get(from.memberId)!
        for (const [topic, partitions] of [...owned.get(from.memberId)!].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
          if (partitions.length === 0) continue
          const to = leastLoaded(subscribers.get(topic) ?? [])
          if (to === undefined || counts.get(to.memberId)! > load - 2) continue
          const partition = Math.max(...partitions)
          take(from.memberId, topic, partition)
          give(to.memberId, topic, partition)
          moved = true
          break outer
        }
      }
      if (!moved) break
    }
    return collect(members, owned)
  },
}

/**
 * Per topic, the subscribers in member id order each take a consecutive range: the first
 * `partitions % members` of them one partition more than the others.
 */
export const rangeAssignor: Assignor = {
  name: 'range',
  assign(spec) {
    const members = [...spec.members].sort(byMemberId)
    const owned = new Map<string, Map<string, number[]>>(members.map((m) => [m.memberId, new Map()]))
    for (const topic of sortedTopics(spec)) {
      const subscribers = members.filter((m) => m.topics.has(topic))
      if (subscribers.length === 0) continue
      const count = spec.partitionCounts.get(topic)!
      const base = Math.floor(count / subscribers.length)
      const extra = count % subscribers.length
      let start = 0
      subscribers.forEach((member, i) => {
        const length = base + (i < extra ? 1 : 0)
        if (length > 0) owned.get(member.memberId)!.set(topic, Array.from({ length }, (_, k) => start + k))
        start += length
      })
    }
    return collect(members, owned)
  },
}

export function assignorByName(name: string): Assignor | undefined {
  if (name === 'uniform') return uniformAssignor
  if (name === 'range') return rangeAssignor
  return undefined
}
