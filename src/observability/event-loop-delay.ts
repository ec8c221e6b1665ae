// How late the event loop runs what is due, as a Prometheus histogram (zombi_event_loop_delay_seconds).
// Every request, fetch wake-up and acknowledgement waits behind whatever holds the main thread (a long
// synchronous step, a garbage collection), so a produce-to-consume tail that the request latency
// histogram does not explain shows up here first. A timer armed every `intervalMs` records how much
// later than asked it fired: the same measure as Node's monitorEventLoopDelay (whose percentiles
// prom-client's default metrics already export as zombi_process_nodejs_eventloop_lag_p50/p90/p99_seconds,
// reset at each scrape), kept here as cumulative buckets so a scraper can aggregate any window.
import { performance } from 'node:perf_hooks'

/** Bucket bounds in seconds: a healthy loop sits below 5 ms; 10–100 ms are the stalls a tail comes from. */
export const EVENT_LOOP_DELAY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] as const

export class EventLoopDelaySampler {
  readonly #observe: (seconds: number) => void
  readonly #intervalMs: number
  #timer: NodeJS.Timeout | null = null
  #due = 0

  constructor(observe: (seconds: number) => void, intervalMs = 10) {
    this.#observe = observe
    this.#intervalMs = intervalMs
    this.#arm()
  }

  close(): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
  }

  #arm(): void {
    this.#due = performance.now() + this.#intervalMs
    // unref: sampling never keeps a process alive that has nothing else to do.
    this.#timer = setTimeout(this.#fire, this.#intervalMs).unref()
  }

  readonly #fire = (): void => {
    this.#observe(Math.max(0, performance.now() - this.#due) / 1000)
    this.#arm()
  }
}
