import { Table, tableFromArrays, tableFromIPC, tableToIPC } from 'apache-arrow'
import { describe, expect, it } from 'vitest'
import { IpcEncoder } from '../../src/iceberg/arrow-ipc.ts'

function batchOf(rows: number, text: string): Table {
  return tableFromArrays({ id: Int32Array.from({ length: rows }, (_, i) => i), text: Array.from({ length: rows }, (_, i) => `${text}-${i}`) })
}

describe('IpcEncoder', () => {
  it('writes the same stream as tableToIPC, batch after batch, small and past the kept size', () => {
    const encoder = new IpcEncoder()
    for (const [rows, text] of [[3, 'a'], [40_000, 'x'.repeat(40)], [10, 'b'], [50_000, 'y'.repeat(30)]] as const) {
      const table = batchOf(rows, text)
      const bytes = encoder.encode(table.batches[0]!)
      expect(Buffer.from(bytes).equals(Buffer.from(tableToIPC(table, 'stream')))).toBe(true)
      expect(tableFromIPC(bytes).getChild('text')!.get(rows - 1)).toBe(`${text}-${rows - 1}`)
    }
  })

  it('reuses its buffer for a batch no larger than one it kept', () => {
    const encoder = new IpcEncoder()
    const first = encoder.encode(batchOf(40_000, 'x'.repeat(40)).batches[0]!)
    const second = encoder.encode(batchOf(30_000, 'y'.repeat(40)).batches[0]!)
    expect(second.buffer).toBe(first.buffer)
  })
})
