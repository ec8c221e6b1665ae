// An Avro schema with every construct typed tables map (nested record, array, map, optional, decimal,
// date, timestamp, enum), and its values, shared by the typed-table tests.

export const base = Date.UTC(2024, 4, 1, 10, 0)

export const orderV1 = {
  type: 'record', name: 'Order', namespace: 'shop',
  fields: [
    { name: 'id', type: 'long' },
    { name: 'customer', type: { type: 'record', name: 'Customer', fields: [{ name: 'name', type: 'string' }, { name: 'age', type: 'int' }] } },
    { name: 'tags', type: { type: 'array', items: 'string' } },
    { name: 'prices', type: { type: 'map', values: 'double' } },
    { name: 'note', type: ['null', 'string'], default: null },
    { name: 'amount', type: { type: 'bytes', logicalType: 'decimal', precision: 9, scale: 2 } },
    { name: 'day', type: { type: 'int', logicalType: 'date' } },
    { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } },
    { name: 'status', type: { type: 'enum', name: 'Status', symbols: ['NEW', 'PAID'] } },
  ],
}

function decimalBytes(unscaled: number): Buffer {
  const out = Buffer.alloc(4)
  out.writeInt32BE(unscaled)
  return out
}

export function order(id: number, age: number, note: string | null): Record<string, unknown> {
  return {
    id, customer: { name: `c${id}`, age }, tags: [`t${id}`, 'x'], prices: { a: id / 2 }, note, amount: decimalBytes(id * 100 + 5),
    day: 19844, at: base + id, status: id % 2 === 0 ? 'NEW' : 'PAID',
  }
}

