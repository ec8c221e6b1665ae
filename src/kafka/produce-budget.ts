// Broker-wide backpressure for the Kafka door: the bytes of Produce requests read but not yet
// answered (waiting for the group commit) are bounded by ZOMBI_KAFKA_MAX_INFLIGHT_PRODUCE_MB.
// Over the budget, a connection that sends a Produce request stops being read until the budget
// has drained to half (TCP then pushes back on the client), and Produce responses carry a
// throttle_time_ms so clients that honour it (KIP-219) hold back their next sends too.

/** Longest throttle we ask for: long enough to drain a commit or two, short of client timeouts. */
const MAX_THROTTLE_MS = 1000

export class ProduceBudget {
  readonly maxBytes: number
  #inflight = 0
  readonly #waiting = new Set<() => void>()

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes
  }

  get inflightBytes(): number {
    return this.#inflight
  }

  get overloaded(): boolean {
    return this.#inflight > this.maxBytes
  }

  /** Counts a request's bytes until `release`. */
  acquire(bytes: number): void {
    this.#inflight += bytes
  }

  release(bytes: number): void {
    this.#inflight -= bytes
    if (this.#waiting.size > 0 && this.#inflight <= this.maxBytes / 2) {
      const waiting = [...this.#waiting]
      this.#waiting.clear()
      for (const resume of waiting) resume()
    }
  }

  /** Calls `resume` once the budget has drained to half (or at once if it already has). */
  whenDrained(resume: () => void): void {
    if (this.#inflight <= this.maxBytes / 2) resume()
    else this.#waiting.add(resume)
  }

  forget(resume: () => void): void {
    this.#waiting.delete(resume)
  }

  /**
   * The throttle_time_ms for a Produce response answered now: 0 within the budget, then 100 ms per
   * budget's worth in flight beyond it, at most MAX_THROTTLE_MS. Only the excess counts: pausing the
   * connection already holds a client back, and a throttle of 100 ms as soon as the budget was
   * reached left the broker idle while kcat waited it out (240,000 records of 1 KiB took 5.1–5.6 s
   * with a 64 MiB budget against 3.1 s with 256 MiB). The excess grows when many connections each
   * sent one more request before their pause: that is the overload a throttle should spread.
   */
  throttleMs(): number {
    if (!this.overloaded) return 0
    return Math.min(MAX_THROTTLE_MS, Math.ceil((100 * (this.#inflight - this.maxBytes)) / this.maxBytes))
  }
}
