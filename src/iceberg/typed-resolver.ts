// The flusher's side of a typed table's encode jobs: schemas from the registry (SchemaLookup) by id
// or as the value subject's latest, and the table's `value` column evolved to hold every shape the
// jobs decoded. The evolved column is pending until a commit carries it into the table's metadata;
// jobs of one flush build on each other's pending column, so their files agree on field ids.
import { hasCode } from '../errors.ts'
import { bundleOf, valueSubject, type SchemaBundle } from '../schema/decoders.ts'
import type { SchemaLookup } from '../schema/lookup.ts'
import type { StructSource } from '../schema/source-type.ts'
import type { PlanAnswer, SchemaAnswer, TypedResolver } from './typed-rows.ts'
import { FieldIds, maxFieldId, mergeValueField, type IcebergField } from './typed-schema.ts'

export class TableTypes implements TypedResolver {
  readonly #lookup: SchemaLookup
  readonly #topic: string
  /** The value column as the table has it plus what pending jobs added (null: none yet). */
  #field: IcebergField | null
  #ids: FieldIds

  /** `field`, `lastColumnId`: the table's value column and last-column-id (from its current metadata). */
  constructor(lookup: SchemaLookup, topic: string, field: IcebergField | null, lastColumnId: number) {
    this.#lookup = lookup
    this.#topic = topic
    this.#field = field
    this.#ids = new FieldIds(Math.max(lastColumnId, field === null ? 0 : Math.max(field.id, maxFieldId(field.type))))
  }

  /** The value column the next commit gives the table. */
  get field(): IcebergField | null {
    return this.#field
  }

  /** The last field id handed out (the table's next last-column-id). */
  get lastColumnId(): number {
    return this.#ids.last
  }

  /** Starts over from the table as committed (after a commit, or when a flush failed). */
  reset(field: IcebergField | null, lastColumnId: number): void {
    this.#field = field
    this.#ids = new FieldIds(Math.max(lastColumnId, field === null ? 0 : Math.max(field.id, maxFieldId(field.type))))
  }

  schemas(ids: number[], latest: boolean): Promise<SchemaAnswer> {
    const byId: Array<[number, SchemaBundle | null]> = []
    for (const id of ids) {
      const schema = this.#lookup.byId(id)
      byId.push([id, schema === undefined ? null : this.#bundle(schema)])
    }
    const newest = latest ? this.#lookup.latest(valueSubject(this.#topic)) : undefined
    return Promise.resolve({ byId, latest: newest === undefined ? null : this.#bundle(newest) })
  }

  plan(shapes: Array<[string, StructSource]>): Promise<PlanAnswer> {
    const refused: Array<[string, string]> = []
    for (const [key, shape] of shapes) {
      try {
        this.#field = mergeValueField(this.#field, shape, this.#ids)
      } catch (error) {
        if (!hasCode(error, 'TYPED_SCHEMA_INCOMPATIBLE')) throw error
        refused.push([key, `schema ${key} does not fit the table: ${error.message}`])
      }
    }
    return Promise.resolve({ field: this.#field, refused })
  }

  #bundle(schema: Parameters<typeof bundleOf>[1]): SchemaBundle | null {
    try {
      return bundleOf(this.#lookup, schema)
    } catch {
      // A reference that does not resolve: the schema's records cannot decode.
      return null
    }
  }
}
