import { expect, test } from 'vitest'
import { CONTROL_ABORT, CONTROL_COMMIT, controlTypeOf, encodeControlBatch, isControlBatch, isTransactionalBatch } from '../../src/protocol/control-record.ts'
import { checkBatch } from '../../src/protocol/record-batch.ts'

test('a commit marker is Kafka\'s control batch byte for byte', () => {
  const batch = encodeControlBatch(CONTROL_COMMIT, 7, 3, 0, 1_700_000_000_000)
  // base offset 0, length 66, leader epoch -1, magic 2, CRC-32C, attributes 0x30 (transactional |
  // control), last offset delta 0, base and max timestamp, producer id 7, epoch 3, base sequence -1,
  // one record: length 16, attributes 0, timestamp and offset deltas 0, key length 4 (zigzag 8) +
  // key (version 0, type 1 = commit), value length 6 (zigzag 12) + value (version 0, coordinator epoch 0), no headers.
  expect(batch.toString('hex')).toBe(
    '0000000000000000' + '00000042' + 'ffffffff' + '02' + batch.toString('hex', 17, 21) + '0030' + '00000000' +
    '0000018bcfe56800' + '0000018bcfe56800' + '0000000000000007' + '0003' + 'ffffffff' + '00000001' +
    '20' + '00' + '00' + '00' + '08' + '00000001' + '0c' + '000000000000' + '00',
  )
  expect(checkBatch(batch, 0)).toBe(batch.length)
  expect(isControlBatch(batch)).toBe(true)
  expect(isTransactionalBatch(batch)).toBe(true)
  expect(controlTypeOf(batch)).toBe(CONTROL_COMMIT)
})

test('an abort marker carries type 0 and the coordinator epoch in its value', () => {
  const batch = encodeControlBatch(CONTROL_ABORT, 1, 0, 5, 0)
  expect(controlTypeOf(batch)).toBe(CONTROL_ABORT)
  expect(batch.subarray(-7).toString('hex')).toBe('00000000000500')
})
