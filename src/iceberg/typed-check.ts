// Decoded record values checked against the value column's type before they are built: a value the
// column cannot hold fails its record at decode time (it goes to the dead-letter table), so building
// never fails halfway through a file. One checker per column type, compiled once.
import { ZombiError } from '../errors.ts'
import type { IcebergType } from './typed-schema.ts'

const INT_MIN = -(2 ** 31)
const INT_MAX = 2 ** 31 - 1
const LONG_MIN = -(2n ** 63n)
const LONG_MAX = 2n ** 63n - 1n
export const DECIMAL = /^decimal\((\d+),\s*(\d+)\)$/

function cannotHold(path: string, type: string, value: unknown): ZombiError {
  const shown = typeof value === 'bigint' ? String(value) : JSON.stringify(value)?.slice(0, 60)
  return new ZombiError('TYPED_RECORD_UNDECODABLE', `${path} = ${shown} does not fit the column type ${type}`)
}

function toBigInt(value: unknown, path: string, type: string): bigint {
  if (typeof value === 'bigint') return value
  if (typeof value === 'number' && Number.isInteger(value)) return BigInt(value)
  throw cannotHold(path, type, value)
}

/**
 * A checker of values for a column of `type`: returns the value in the form the builders take (longs,
 * times and timestamps as bigint; structs and lists checked in place, as decoded values are the
 * job's own), or throws TYPED_RECORD_UNDECODABLE naming the field (`path`) that does not fit. Built
 * once per column type, so checking allocates nothing per value but the bigints.
 */
export function compileCheck(type: IcebergType, required: boolean, path: string): (value: unknown) => unknown {
  const inner = compileInner(type, path)
  return (value) => {
    if (value === null || value === undefined) {
      if (required) throw new ZombiError('TYPED_RECORD_UNDECODABLE', `${path} is null but the column is required`)
      return null
    }
    return inner(value)
  }
}

function compileInner(type: IcebergType, path: string): (value: unknown) => unknown {
  if (typeof type === 'string') {
    switch (type) {
      case 'boolean': return (value) => { if (typeof value !== 'boolean') throw cannotHold(path, type, value); return value }
      case 'int':
      case 'date': return (value) => {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < INT_MIN || value > INT_MAX) throw cannotHold(path, type, value)
        return value
      }
      case 'long':
      case 'time':
      case 'timestamp':
      case 'timestamptz': return (value) => {
        // A safe integer stays a number (no bigint per value); the builder writes both.
        if (typeof value === 'number' && Number.isSafeInteger(value)) return value
        const big = toBigInt(value, path, type)
        if (big < LONG_MIN || big > LONG_MAX) throw cannotHold(path, type, value)
        return big
      }
      case 'float':
      case 'double': return (value) => { if (typeof value !== 'number') throw cannotHold(path, type, value); return value }
      case 'string': return (value) => { if (typeof value !== 'string') throw cannotHold(path, type, value); return value }
      case 'binary': return (value) => { if (!(value instanceof Uint8Array)) throw cannotHold(path, type, value); return value }
    }
    const decimal = DECIMAL.exec(type)
    if (decimal !== null) {
      const limit = 10n ** BigInt(decimal[1]!)
      return (value) => {
        const big = toBigInt(value, path, type)
        if (big <= -limit || big >= limit) throw cannotHold(path, type, value)
        return big
      }
    }
    const fixed = /^fixed\[(\d+)\]$/.exec(type)
    if (fixed !== null) {
      const size = Number(fixed[1])
      return (value) => {
        if (!(value instanceof Uint8Array) || value.length !== size) throw cannotHold(path, type, value)
        return value
      }
    }
    return (value) => { throw cannotHold(path, type, value) }
  }
  if (type.type === 'struct') {
    const names = type.fields.map((field) => field.name)
    const checks = type.fields.map((field) => compileCheck(field.type, field.required, `${path}.${field.name}`))
    return (value) => {
      if (typeof value !== 'object' || Array.isArray(value)) throw cannotHold(path, 'struct', value)
      const record = value as Record<string, unknown>
      for (let i = 0; i < names.length; i++) record[names[i]!] = checks[i]!(record[names[i]!])
      return record
    }
  }
  if (type.type === 'list') {
    const check = compileCheck(type.element, type['element-required'], `${path}[]`)
    return (value) => {
      if (!Array.isArray(value)) throw cannotHold(path, 'list', value)
      for (let i = 0; i < value.length; i++) value[i] = check(value[i])
      return value
    }
  }
  const checkKey = compileCheck(type.key, true, `${path}.key`)
  const checkValue = compileCheck(type.value, type['value-required'], `${path}.value`)
  return (value) => {
    if (!Array.isArray(value)) throw cannotHold(path, 'map', value)
    for (const entry of value as Array<[unknown, unknown]>) {
      entry[0] = checkKey(entry[0])
      entry[1] = checkValue(entry[1])
    }
    return value
  }
}
