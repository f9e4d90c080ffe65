/**
 * What the converter pool (./pool.ts) is given and what it tells: its sizing and limits, and
 * its counters for status and metrics.
 *
 * @module
 */

/** Pool sizing and limits. */
export interface PoolOptions {
  /** Workers kept even when idle. */
  min: number;
  /** Workers at most; one more starts when a job has waited `growAfterMs` (see pool.ts). */
  max: number;
  /** Milliseconds one job may take. */
  timeoutMs: number;
  /** Heap limit of each worker (MiB). */
  memoryMb: number;
  /** Lost (unreclaimable) workers tolerated before the pool gives up. */
  maxLostWorkers: number;
  /** Idle workers above `min` stop after this many ms. */
  idleMs?: number;
  /** Idle workers above `min + 1` stop after this many ms (at most `idleMs`). */
  extraIdleMs?: number;
  /** More workers start once the oldest waiting job has waited this many ms. */
  growAfterMs?: number;
  /** Called once when the pool can no longer be trusted to convert. */
  onUnrecoverable?: (reason: string) => void;
}

/** Counters and gauges for status and metrics. */
export interface PoolStats {
  workers: number;
  busy: number;
  waiting: number;
  lost: number;
  timeouts: number;
  crashes: number;
  unrecoverable: string | null;
}
