// Translates "make this the table's metadata" into the REST catalog's language: the updates that turn
// the server's current metadata into Zombi's, and the requirements under which they may apply. The
// server rebuilds the metadata itself (its logs, timestamps and file name), so only what Zombi decides
// travels: schemas, specs, sort orders, location, properties, snapshots and refs.
import type { SnapshotRef, TableMetadata } from './table-metadata.ts'

export type TableUpdate = Record<string, unknown> & { action: string }
export type TableRequirement = Record<string, unknown> & { type: string }

/** A table with nothing in it: the base a create is translated against. */
const EMPTY: TableMetadata = {
  'format-version': 1,
  'table-uuid': '',
  location: '',
  'last-sequence-number': 0n,
  'last-updated-ms': 0,
  'last-column-id': 0,
  'current-schema-id': -1,
  schemas: [],
  'default-spec-id': -1,
  'partition-specs': [],
  'last-partition-id': 0,
  'default-sort-order-id': -1,
  'sort-orders': [],
  properties: {},
  refs: {},
  snapshots: [],
  'snapshot-log': [],
  'metadata-log': [],
}

function idOf(entry: unknown, field: string): number | undefined {
  if (typeof entry !== 'object' || entry === null) return undefined
  const id = (entry as Record<string, unknown>)[field]
  return typeof id === 'number' || typeof id === 'bigint' ? Number(id) : undefined
}

/**
 * add-X for every entry of `target` whose id `base` lacks, then set-default-X when the default
 * changed: -1 ("the one just added") when the default is new, since the server may renumber an
 * added entry (it reuses the id of an equal one).
 */
function versioned(
  updates: TableUpdate[], base: unknown[], target: unknown[], idField: string, baseDefault: number, targetDefault: number,
  add: (entry: unknown) => TableUpdate, setDefault: (id: number) => TableUpdate,
): void {
  const known = new Set(base.map((entry) => idOf(entry, idField)))
  let defaultAdded = false
  for (const entry of target) {
    const id = idOf(entry, idField)
    if (known.has(id)) continue
    updates.push(add(entry))
    if (id === targetDefault) defaultAdded = true
  }
  if (defaultAdded) updates.push(setDefault(-1))
  else if (targetDefault !== baseDefault) updates.push(setDefault(targetDefault))
}

/** The updates that take `base` (null: no table yet) to `target`. */
export function tableUpdates(base: TableMetadata | null, target: TableMetadata): TableUpdate[] {
  const from = base ?? EMPTY
  const updates: TableUpdate[] = []
  // A create names the table's uuid, as Java's create transaction does; readers key caches on it.
  if (base === null) updates.push({ action: 'assign-uuid', uuid: target['table-uuid'] })
  if (base === null || target['format-version'] > from['format-version']) updates.push({ action: 'upgrade-format-version', 'format-version': target['format-version'] })
  versioned(updates, from.schemas, target.schemas, 'schema-id', from['current-schema-id'], target['current-schema-id'],
    (schema) => ({ action: 'add-schema', schema, 'last-column-id': target['last-column-id'] }),
    (id) => ({ action: 'set-current-schema', 'schema-id': id }))
  versioned(updates, from['partition-specs'], target['partition-specs'], 'spec-id', from['default-spec-id'], target['default-spec-id'],
    (spec) => ({ action: 'add-spec', spec }),
    (id) => ({ action: 'set-default-spec', 'spec-id': id }))
  versioned(updates, from['sort-orders'], target['sort-orders'], 'order-id', from['default-sort-order-id'], target['default-sort-order-id'],
    (order) => ({ action: 'add-sort-order', 'sort-order': order }),
    (id) => ({ action: 'set-default-sort-order', 'sort-order-id': id }))
  if (target.location !== from.location) updates.push({ action: 'set-location', location: target.location })

  const changed: Record<string, string> = {}
  for (const [key, value] of Object.entries(target.properties)) if (from.properties[key] !== value) changed[key] = value
  if (Object.keys(changed).length > 0) updates.push({ action: 'set-properties', updates: changed })
  const removed = Object.keys(from.properties).filter((key) => !(key in target.properties))
  if (removed.length > 0) updates.push({ action: 'remove-properties', removals: removed })

  const baseSnapshots = new Set(from.snapshots.map((snapshot) => snapshot['snapshot-id']))
  for (const snapshot of target.snapshots) if (!baseSnapshots.has(snapshot['snapshot-id'])) updates.push({ action: 'add-snapshot', snapshot })
  // Refs before snapshot removals: a snapshot a ref still points at cannot go.
  for (const name of Object.keys(from.refs)) if (!(name in target.refs)) updates.push({ action: 'remove-snapshot-ref', 'ref-name': name })
  for (const [name, ref] of Object.entries(target.refs)) if (!sameRef(from.refs[name], ref)) updates.push({ action: 'set-snapshot-ref', 'ref-name': name, ...ref })
  const targetSnapshots = new Set(target.snapshots.map((snapshot) => snapshot['snapshot-id']))
  const expired = from.snapshots.map((snapshot) => snapshot['snapshot-id']).filter((id) => !targetSnapshots.has(id))
  if (expired.length > 0) updates.push({ action: 'remove-snapshots', 'snapshot-ids': expired })
  return updates
}

function sameRef(a: SnapshotRef | undefined, b: SnapshotRef): boolean {
  if (a === undefined) return false
  const keys = new Set([...Object.keys(a), ...Object.keys(b)])
  for (const key of keys) if (a[key] !== b[key]) return false
  return true
}

/**
 * Requirements of a commit from `base`: the same table (not one dropped and recreated under the
 * name) and main where it was, so of two racing appends one fails; and, as Java's UpdateRequirements
 * adds them, the ids a schema, spec or sort order change builds on.
 */
export function tableRequirements(base: TableMetadata | null, updates: readonly TableUpdate[]): TableRequirement[] {
  if (base === null) return [{ type: 'assert-create' }]
  const requirements: TableRequirement[] = [
    { type: 'assert-table-uuid', uuid: base['table-uuid'] },
    { type: 'assert-ref-snapshot-id', ref: 'main', 'snapshot-id': base.refs.main?.['snapshot-id'] ?? null },
  ]
  const actions = new Set(updates.map((update) => update.action))
  if (actions.has('add-schema')) requirements.push({ type: 'assert-last-assigned-field-id', 'last-assigned-field-id': base['last-column-id'] })
  if (actions.has('set-current-schema')) requirements.push({ type: 'assert-current-schema-id', 'current-schema-id': base['current-schema-id'] })
  if (actions.has('add-spec')) requirements.push({ type: 'assert-last-assigned-partition-id', 'last-assigned-partition-id': base['last-partition-id'] })
  if (actions.has('set-default-spec')) requirements.push({ type: 'assert-default-spec-id', 'default-spec-id': base['default-spec-id'] })
  if (actions.has('set-default-sort-order')) requirements.push({ type: 'assert-default-sort-order-id', 'default-sort-order-id': base['default-sort-order-id'] })
  return requirements
}

/**
 * Whether `current` holds what the commit of `target` from `base` changed, for a commit whose
 * answer was lost. A commit that added snapshots landed iff they are there (random 63-bit ids:
 * found means ours, even if another commit has moved main on since); one that added none, iff
 * main and the properties are as it set them. A create must also have made this table (its uuid).
 */
export function commitLanded(current: TableMetadata, base: TableMetadata | null, target: TableMetadata): boolean {
  if (current['table-uuid'] !== target['table-uuid']) return false
  const before = new Set((base ?? EMPTY).snapshots.map((snapshot) => snapshot['snapshot-id']))
  const added = target.snapshots.filter((snapshot) => !before.has(snapshot['snapshot-id']))
  if (added.length > 0) {
    const have = new Set(current.snapshots.map((snapshot) => snapshot['snapshot-id']))
    return added.every((snapshot) => have.has(snapshot['snapshot-id']))
  }
  if (current.refs.main?.['snapshot-id'] !== target.refs.main?.['snapshot-id']) return false
  return Object.entries(target.properties).every(([key, value]) => current.properties[key] === value)
}
