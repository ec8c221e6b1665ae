// The broker-side half of a scenario: after the client says it passed, re-read what Zombi stored
// with the independent reader and check what the client cannot show (codec bits, producer ids,
// timestamp type) and that the bytes are the scenario's own.
import { deepStrictEqual } from 'node:assert/strict'
import type { ScenarioContext } from './family.ts'
import { logAppendTimeFlag, readPartition, type RawRecord } from './reader.ts'
import { compactedProblem } from './compacted.ts'
import { aclDenied, codecIds, codecOf, codecRecords, compacted, idempotent, keysHeadersNullsRecords, secureRecords, transactions } from './scenarios.ts'

const codecNames = Object.fromEntries(Object.entries(codecIds).map(([name, id]) => [id, name])) as Record<number, string>

function comparable(record: RawRecord): { key: string | null; value: string | null; headers: [string, string][] } {
  return {
    key: record.key === null ? null : record.key.toString('hex'),
    value: record.value === null ? null : record.value.toString('hex'),
    headers: record.headers.map(([name, value]) => [name?.toString('utf8') ?? '<null>', value === null ? '<null>' : value.toString('hex')]),
  }
}

/** Resolves with a detail for the result, or throws what is wrong. */
export async function verifyOnBroker(context: ScenarioContext): Promise<string> {
  const { scenario, bootstrap, topic } = context
  const codec = codecOf(scenario)
  if (codec !== undefined) {
    const stored = await readPartition(bootstrap, topic, 0)
    if (stored.records.length !== codecRecords.count) throw new Error(`broker has ${stored.records.length} records, expected ${codecRecords.count}`)
    stored.records.forEach((record, index) => {
      if (!record.value?.equals(codecRecords.value(index))) throw new Error(`broker record ${index} is not the scenario's value ${index}`)
    })
    const wrong = stored.batches.filter((batch) => (batch.attributes & 0x07) !== codecIds[codec])
    if (wrong.length > 0) {
      const seen = [...new Set(stored.batches.map((batch) => codecNames[batch.attributes & 0x07] ?? String(batch.attributes & 0x07)))]
      throw new Error(`${wrong.length} of ${stored.batches.length} stored batches are not ${codec} (seen: ${seen.join(', ')})`)
    }
    return `broker: ${stored.batches.length} ${codec} batch(es)`
  }
  switch (scenario) {
    case 'compacted-topic': {
      const stored = await readPartition(bootstrap, topic, 0)
      const problem = compactedProblem(stored.records)
      if (problem !== null) throw new Error(`broker: ${problem}`)
      if (stored.highWatermark !== compacted.count) throw new Error(`broker: high watermark ${stored.highWatermark}, expected ${compacted.count} (the keyless record was stored?)`)
      return `broker: ${stored.records.length} of ${compacted.count} records kept, no keyless record stored`
    }
    case 'keys-headers-nulls': {
      const stored = await readPartition(bootstrap, topic, 0)
      const expected = keysHeadersNullsRecords.map((record) => comparable({ offset: 0, timestamp: 0n, key: record.key, value: record.value, headers: record.headers.map(([name, value]) => [Buffer.from(name), value]) }))
      deepStrictEqual(stored.records.map(comparable), expected, 'records stored by the broker')
      return 'broker: the 4 records byte-exact'
    }
    case 'timestamps-log-append-time': {
      const stored = await readPartition(bootstrap, topic, 0)
      if (stored.batches.length === 0) throw new Error('broker has no batches')
      const unstamped = stored.batches.filter((batch) => (batch.attributes & logAppendTimeFlag) === 0)
      if (unstamped.length > 0) throw new Error(`${unstamped.length} stored batches lack the LogAppendTime attribute`)
      return 'broker: batches stamped LogAppendTime'
    }
    case 'idempotent-producer': {
      const stored = await readPartition(bootstrap, topic, 0)
      if (stored.records.length !== idempotent.count) throw new Error(`broker has ${stored.records.length} records, expected exactly ${idempotent.count}`)
      const plain = stored.batches.filter((batch) => batch.producerId < 0n || batch.baseSequence < 0)
      if (plain.length > 0) throw new Error(`${plain.length} of ${stored.batches.length} stored batches have no producer id/sequence (not idempotent)`)
      const ids = [...new Set(stored.batches.map((batch) => `${batch.producerId}/${batch.producerEpoch}`))]
      return `broker: ${stored.batches.length} batch(es) from producer ${ids.join(', ')}`
    }
    case 'sasl-scram-tls': {
      const stored = await readPartition(bootstrap, topic, 0)
      const expected = Array.from({ length: secureRecords.count }, (_, index) => comparable({ offset: 0, timestamp: 0n, key: secureRecords.key(index), value: secureRecords.value(index), headers: [] }))
      deepStrictEqual(stored.records.map((record) => ({ ...comparable(record), headers: [] })), expected, 'records stored by the broker')
      return `broker: the ${secureRecords.count} records byte-exact`
    }
    case 'acl-denied': {
      // The refused produce must have stored nothing: only the harness's records are there.
      const stored = await readPartition(bootstrap, topic, 0)
      const values = stored.records.map((record) => record.value?.toString('utf8') ?? '<null>')
      const expected = Array.from({ length: aclDenied.readableCount }, (_, index) => aclDenied.value(index).toString('utf8'))
      deepStrictEqual(values, expected, 'records stored by the broker (the denied produce must add none)')
      return `broker: still only the ${aclDenied.readableCount} records written before`
    }
    case 'transactions-read-committed': {
      // Every data record is stored (the aborted ones too: read_committed consumers skip them), each
      // data batch is transactional, and each of the three transactions ended with a control batch.
      const stored = await readPartition(bootstrap, topic, 0)
      const { committedFirst, aborted, committedSecond } = transactions
      const expected = [
        ...Array.from({ length: committedFirst }, (_, i) => transactions.committedValue(i)),
        ...Array.from({ length: aborted }, (_, i) => transactions.abortedValue(i)),
        ...Array.from({ length: committedSecond }, (_, i) => transactions.committedValue(committedFirst + i)),
      ]
      const control = stored.batches.filter((batch) => (batch.attributes & 0x20) !== 0)
      // A marker is one record at its batch's base offset: not data.
      const markers = new Set(control.map((batch) => batch.baseOffset))
      const values = stored.records.filter((record) => !markers.has(record.offset)).map((record) => record.value?.toString('utf8') ?? '<null>')
      deepStrictEqual(values, expected, 'data records stored by the broker')
      const data = stored.batches.filter((batch) => (batch.attributes & 0x20) === 0)
      if (control.length !== 3) throw new Error(`${control.length} control batches, expected 3 (one marker per transaction)`)
      const plain = data.filter((batch) => (batch.attributes & 0x10) === 0)
      if (plain.length > 0) throw new Error(`${plain.length} of ${data.length} data batches are not transactional`)
      return `broker: ${expected.length} data records in ${data.length} transactional batch(es), 3 markers`
    }
    default:
      return ''
  }
}
