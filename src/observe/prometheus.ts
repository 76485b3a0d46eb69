/**
 * Prometheus metrics for loaderkit, on prom-client (an optional peer dependency): import from
 * `loaderkit/prometheus`. Names are snake_case with a prefix, durations in seconds, and the labels are
 * the loader name, the remote store's name and small fixed sets (tier, result, reason, state), so
 * cardinality stays bounded by the number of loaders.
 */
import {
  Counter,
  type CounterConfiguration,
  Gauge,
  type GaugeConfiguration,
  Histogram,
  type Registry,
  register,
} from 'prom-client';
import type { BusStats } from '../bus/bus.js';
import type { BreakerState, RemoteStats } from '../cache/remote/resilient.js';
import type { StoreStats } from '../cache/store.js';
import { assertCreateLoaders, type CreateLoaders } from '../define.js';
import { describe } from '../errors.js';
import type { LoaderStats } from './stats.js';

export interface LoaderMetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global `register`. */
  registry?: Registry;
  /** Prefix of every metric name. Default: `'loaderkit_'`. */
  prefix?: string;
  /** Buckets of the batch size histogram. Default: `[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]`. */
  batchSizeBuckets?: number[];
  /** Buckets of the source duration histogram, in seconds. Default: prom-client's defaults. */
  durationBuckets?: number[];
}

export interface LoaderMetrics {
  /** Stops observing and removes the metrics from the registry. */
  dispose(): void;
}

/** What `createLoaders.stats()` answers, typed for reading. */
interface Snapshot {
  readonly loaders: Record<string, LoaderStats>;
  readonly store: StoreStats | undefined;
  readonly remote: RemoteStats | undefined;
  readonly bus: BusStats | undefined;
}

const BREAKER_STATES: readonly BreakerState[] = ['closed', 'half-open', 'open'];

/** A counter increment: a finite number, never negative (prom-client refuses negative increments). */
function count(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

/**
 * Registers, for every loader of `createLoaders`:
 * - `<prefix>batch_size` (histogram, `loader`): keys per batch after the request memo;
 * - `<prefix>source_duration_seconds` (histogram, `loader`, `result` = ok | error): batch function calls;
 * - `<prefix>cache_lookups_total` (counter, `loader`, `tier` = memo | l1 | l2, `result` = hit | stale |
 *   miss): lookups per tier; l1 (in-process) and l2 (remote, only with a remote store) series only for
 *   loaders that use the shared tier;
 * - `<prefix>errors_total` (counter, `loader`): failed batches, per-key errors and store failures;
 * - with a remote store, labelled `store` (its name):
 *   - `<prefix>remote_calls_total` (counter): calls made to it (not skipped);
 *   - `<prefix>remote_errors_total` (counter, `reason` = error | timeout | garbage | skipped): calls that
 *     failed, calls that timed out, values that were no entry of ours, calls the open breaker skipped;
 *   - `<prefix>remote_writes_dropped_total` (counter, `reason` = queue_full | unwritable): values not
 *     written because maxPendingWrites were in the air, or because the codec refused them;
 *   - `<prefix>remote_pending_writes` (gauge): write-backs in the air;
 *   - `<prefix>remote_breaker_state` (gauge, `state` = closed | half-open | open): 1 for the current
 *     state of the circuit breaker, 0 for the others;
 *   - `<prefix>remote_lock_keys_total` (counter, `result` = taken | waited | landed | timed_out): keys of
 *     distributed single-flight (shared.lock);
 *   - `<prefix>remote_node_commands_total` (counter, `node`, `result` = ok | error | refused): commands
 *     per node, for a store spread over several (Redis Cluster);
 * - with a remote store that carries invalidations across instances (Redis), labelled `store`:
 *   - `<prefix>bus_messages_total` (counter, `direction` = out | in | garbage): messages published,
 *     messages of other instances applied, texts on the channel that were no message;
 *   - `<prefix>bus_errors_total` (counter, `reason` = publish | heartbeat | ack_timeout): publishes that
 *     failed, heartbeats not answered in time, scope invalidations that waited out the bound;
 *   - `<prefix>bus_resyncs_total` (counter): times the in-process tier was dropped on regaining trust;
 *   - `<prefix>bus_trusted` (gauge): 1 while the in-process tier is read, else 0;
 *   - `<prefix>bus_lag_seconds_total` (counter) and `<prefix>bus_lag_max_seconds` (gauge): the sum and
 *     the largest propagation lag of received messages (divide the sum's rate by `in`'s for the mean);
 * - with an in-process store (made on first use of a shared loader, unless given):
 *   - `<prefix>l1_entries` and `<prefix>l1_bytes` (gauges): what it holds, where the store reports it;
 *   - `<prefix>l1_evictions_total` (counter): entries dropped to make room.
 * Everything but the histograms is read from `createLoaders.stats()` when scraped (once per scrape), so
 * loads pay nothing for it.
 */
export function createLoaderMetrics(
  createLoaders: CreateLoaders<any>,
  options: LoaderMetricsOptions = {},
): LoaderMetrics {
  assertCreateLoaders(createLoaders, 'createLoaderMetrics');
  const prefix = options.prefix ?? 'loaderkit_';
  if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
    throw new TypeError(
      `createLoaderMetrics option prefix must be a valid metric name prefix, but got: ${describe(prefix)}.`,
    );
  }
  const registry = options.registry ?? register;
  const registers = [registry];
  /** Names of the metrics registered so far (a name another metric holds throws, and stays theirs). */
  const names: string[] = [];
  const removeAll = (): void => {
    for (const name of names.splice(0)) registry.removeSingleMetric(name);
  };
  /** Registers the metric `make` builds under `<prefix><name>`, to be removed by dispose. */
  const add = <M>(name: string, make: (name: string) => M): M => {
    const metric = make(`${prefix}${name}`);
    names.push(`${prefix}${name}`);
    return metric;
  };

  // One snapshot per scrape: the registry collects every metric in the same tick, so they all agree.
  let current: Snapshot | undefined;
  const snapshot = (): Snapshot => {
    if (current === undefined) {
      current = createLoaders.stats() as Snapshot;
      queueMicrotask(() => {
        current = undefined;
      });
    }
    return current;
  };
  /** A counter that fills itself from the snapshot on each scrape. */
  const counter = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (metric: Counter<L>, stats: Snapshot) => void,
  ): void => {
    add(
      name,
      (full) =>
        new Counter({
          name: full,
          help,
          labelNames,
          registers,
          collect(this: Counter<L>) {
            this.reset();
            fill(this, snapshot());
          },
        } as CounterConfiguration<L>),
    );
  };
  /** A gauge that sets itself from the snapshot on each scrape. */
  const gauge = <L extends string>(
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: (metric: Gauge<L>, stats: Snapshot) => void,
  ): void => {
    add(
      name,
      (full) =>
        new Gauge({
          name: full,
          help,
          labelNames,
          registers,
          collect(this: Gauge<L>) {
            this.reset();
            fill(this, snapshot());
          },
        } as GaugeConfiguration<L>),
    );
  };
  /** A metric without labels shows its value, or no sample at all where there is none. */
  const single = (metric: Counter | Gauge, value: number | undefined, set: (value: number) => void) => {
    if (typeof value === 'number' && Number.isFinite(value)) set(value);
    else metric.remove();
  };

  let batchSize: Histogram<'loader'>;
  let sourceDuration: Histogram<'loader' | 'result'>;
  try {
    batchSize = add(
      'batch_size',
      (name) =>
        new Histogram({
          name,
          help: 'Keys per batch a loader hands on after the request memo.',
          labelNames: ['loader'],
          buckets: options.batchSizeBuckets ?? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
          registers,
        }),
    );
    sourceDuration = add(
      'source_duration_seconds',
      (name) =>
        new Histogram({
          name,
          help: 'Duration of batch function calls.',
          labelNames: ['loader', 'result'],
          ...(options.durationBuckets === undefined ? {} : { buckets: options.durationBuckets }),
          registers,
        }),
    );
    counter(
      'cache_lookups_total',
      'Cache lookups by loader, tier (memo, l1 in-process, l2 remote) and result (hit, stale, miss).',
      ['loader', 'tier', 'result'],
      (metric, { loaders, remote }) => {
        for (const [loader, s] of Object.entries(loaders)) {
          metric.inc({ loader, tier: 'memo', result: 'hit' }, count(s.memoHits));
          metric.inc({ loader, tier: 'memo', result: 'miss' }, count(s.loads - s.memoHits));
          if (s.sharedHits + s.staleHits > 0 || s.joins > 0 || s.writes > 0) {
            metric.inc({ loader, tier: 'l1', result: 'hit' }, count(s.sharedHits - s.remoteHits));
            metric.inc({ loader, tier: 'l1', result: 'stale' }, count(s.staleHits - s.remoteStaleHits));
            metric.inc(
              { loader, tier: 'l1', result: 'miss' },
              count(s.joins + s.remoteHits + s.remoteStaleHits + s.misses),
            );
            if (remote !== undefined) {
              metric.inc({ loader, tier: 'l2', result: 'hit' }, count(s.remoteHits));
              metric.inc({ loader, tier: 'l2', result: 'stale' }, count(s.remoteStaleHits));
              metric.inc({ loader, tier: 'l2', result: 'miss' }, count(s.misses));
            }
          }
        }
      },
    );
    counter(
      'errors_total',
      'Failed batches, per-key errors and shared store failures, by loader.',
      ['loader'],
      (metric, { loaders }) => {
        for (const [loader, s] of Object.entries(loaders)) metric.inc({ loader }, count(s.errors));
      },
    );
    counter('remote_calls_total', 'Calls made to the remote store (not skipped).', ['store'], (metric, s) => {
      if (s.remote !== undefined) metric.inc({ store: s.remote.name }, count(s.remote.calls));
    });
    counter(
      'remote_errors_total',
      'Remote store problems by reason: error (call failed), timeout, garbage (not an entry of ours), skipped (breaker open).',
      ['store', 'reason'],
      (metric, { remote }) => {
        if (remote === undefined) return;
        const store = remote.name;
        metric.inc({ store, reason: 'error' }, count(remote.failures - remote.timeouts));
        metric.inc({ store, reason: 'timeout' }, count(remote.timeouts));
        metric.inc({ store, reason: 'garbage' }, count(remote.garbage));
        metric.inc({ store, reason: 'skipped' }, count(remote.skipped));
      },
    );
    counter(
      'remote_writes_dropped_total',
      'Values not written to the remote store: queue_full (maxPendingWrites in the air), unwritable (the codec refused them), fenced (the key no longer held what the batch read: an invalidation or a write by another instance came between).',
      ['store', 'reason'],
      (metric, { remote }) => {
        if (remote === undefined) return;
        metric.inc({ store: remote.name, reason: 'queue_full' }, count(remote.writesDropped));
        metric.inc({ store: remote.name, reason: 'unwritable' }, count(remote.unwritable));
        metric.inc({ store: remote.name, reason: 'fenced' }, count(remote.writesFenced));
      },
    );
    gauge('remote_pending_writes', 'Remote write-backs in the air.', ['store'], (metric, { remote }) => {
      if (remote !== undefined) metric.set({ store: remote.name }, remote.pendingWrites);
    });
    gauge(
      'remote_breaker_state',
      'State of the remote store circuit breaker: 1 for the current state, 0 for the others.',
      ['store', 'state'],
      (metric, { remote }) => {
        if (remote === undefined) return;
        for (const state of BREAKER_STATES)
          metric.set({ store: remote.name, state }, state === remote.breaker ? 1 : 0);
      },
    );
    counter(
      'remote_lock_keys_total',
      'Distributed single-flight (shared.lock), in keys: taken (locks this instance took), waited (another held the lock), landed (its value came while waiting), timed_out (loaded here after waitMs).',
      ['store', 'result'],
      (metric, { remote }) => {
        if (remote === undefined) return;
        const { locks } = remote;
        metric.inc({ store: remote.name, result: 'taken' }, count(locks.taken));
        metric.inc({ store: remote.name, result: 'waited' }, count(locks.waited));
        metric.inc({ store: remote.name, result: 'landed' }, count(locks.landed));
        metric.inc({ store: remote.name, result: 'timed_out' }, count(locks.timedOut));
      },
    );
    counter(
      'remote_node_commands_total',
      'Commands per node of a remote store spread over several (Redis Cluster): ok (answered), error (an error reply or a failed round trip), refused (not sent: the node was down).',
      ['store', 'node', 'result'],
      (metric, { remote }) => {
        if (remote?.nodes === undefined) return;
        for (const { node, ok, errors, refused } of remote.nodes) {
          metric.inc({ store: remote.name, node, result: 'ok' }, count(ok));
          metric.inc({ store: remote.name, node, result: 'error' }, count(errors));
          metric.inc({ store: remote.name, node, result: 'refused' }, count(refused));
        }
      },
    );
    counter(
      'bus_messages_total',
      'Invalidation bus messages: out (published), in (from other instances, applied), garbage (not a message).',
      ['store', 'direction'],
      (metric, { remote, bus }) => {
        if (remote === undefined || bus === undefined) return;
        metric.inc({ store: remote.name, direction: 'out' }, count(bus.published));
        metric.inc({ store: remote.name, direction: 'in' }, count(bus.received));
        metric.inc({ store: remote.name, direction: 'garbage' }, count(bus.garbage));
      },
    );
    counter(
      'bus_errors_total',
      'Invalidation bus problems: publish (failed), heartbeat (not answered in time), ack_timeout (a scope invalidation waited out the bound).',
      ['store', 'reason'],
      (metric, { remote, bus }) => {
        if (remote === undefined || bus === undefined) return;
        metric.inc({ store: remote.name, reason: 'publish' }, count(bus.publishFailures));
        metric.inc({ store: remote.name, reason: 'heartbeat' }, count(bus.heartbeatFailures));
        metric.inc({ store: remote.name, reason: 'ack_timeout' }, count(bus.ackTimeouts));
      },
    );
    counter(
      'bus_resyncs_total',
      'Times the in-process tier was dropped on regaining contact with the other instances.',
      ['store'],
      (metric, { remote, bus }) => {
        if (remote !== undefined && bus !== undefined) metric.inc({ store: remote.name }, count(bus.resyncs));
      },
    );
    gauge(
      'bus_trusted',
      '1 while the in-process tier is read (the bus hears the other instances), else 0.',
      ['store'],
      (metric, { remote, bus }) => {
        if (remote !== undefined && bus !== undefined)
          metric.set({ store: remote.name }, bus.trusted ? 1 : 0);
      },
    );
    counter(
      'bus_lag_seconds_total',
      'Sum of the propagation lags of received invalidation messages (receiver clock minus sender clock).',
      ['store'],
      (metric, { remote, bus }) => {
        if (remote !== undefined && bus !== undefined)
          metric.inc({ store: remote.name }, count(bus.lag.sumMs / 1000));
      },
    );
    gauge(
      'bus_lag_max_seconds',
      'The largest propagation lag of a received invalidation message.',
      ['store'],
      (metric, { remote, bus }) => {
        if (remote !== undefined && bus !== undefined)
          metric.set({ store: remote.name }, bus.lag.maxMs / 1000);
      },
    );
    gauge('l1_entries', 'Entries in the in-process store.', [], (metric, { store }) =>
      single(metric, store?.entries, (value) => metric.set(value)),
    );
    gauge('l1_bytes', 'Estimated bytes in the in-process store.', [], (metric, { store }) =>
      single(metric, store?.bytes, (value) => metric.set(value)),
    );
    counter(
      'l1_evictions_total',
      'Entries the in-process store dropped to make room.',
      [],
      (metric, { store }) => single(metric, store?.evictions, (value) => metric.inc(count(value))),
    );
  } catch (error) {
    // A metric that could not be registered (its name taken) leaves none of ours behind.
    removeAll();
    throw error;
  }

  const stop = createLoaders.observe({
    batch: (loader, size) => {
      batchSize.observe({ loader }, size);
      return undefined;
    },
    source: (loader, ms, failed) =>
      sourceDuration.observe({ loader, result: failed ? 'error' : 'ok' }, ms / 1000),
  });
  return {
    dispose() {
      stop();
      removeAll();
    },
  };
}
