/**
 * Prometheus metrics for loaderkit, on prom-client (an optional peer dependency): import from
 * `loaderkit/prometheus`. Names are snake_case with a prefix, durations in seconds, and the only
 * labels are the loader name, the cache tier and the lookup result, so cardinality stays bounded by
 * the number of loaders.
 */
import { Counter, type CounterConfiguration, Histogram, type Registry, register } from 'prom-client';
import { assertCreateLoaders, type CreateLoaders } from '../define.js';
import { describe } from '../errors.js';

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

/**
 * Registers, for every loader of `createLoaders`:
 * - `<prefix>batch_size` (histogram, `loader`): keys per batch after the request memo;
 * - `<prefix>source_duration_seconds` (histogram, `loader`, `result` = ok | error): batch function calls;
 * - `<prefix>cache_lookups_total` (counter, `loader`, `tier` = memo | shared, `result` = hit | stale | miss);
 * - `<prefix>errors_total` (counter, `loader`): failed batches, per-key errors and store failures.
 * Counters are read from the loaders' statistics when scraped, so loads pay nothing for them.
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
  const batchSize = new Histogram({
    name: `${prefix}batch_size`,
    help: 'Keys per batch a loader hands on after the request memo.',
    labelNames: ['loader'],
    buckets: options.batchSizeBuckets ?? [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
    registers,
  });
  const sourceDuration = new Histogram({
    name: `${prefix}source_duration_seconds`,
    help: 'Duration of batch function calls.',
    labelNames: ['loader', 'result'],
    ...(options.durationBuckets === undefined ? {} : { buckets: options.durationBuckets }),
    registers,
  });
  const stats = () =>
    createLoaders.stats().loaders as Record<
      string,
      ReturnType<typeof createLoaders.stats>['loaders'][string]
    >;
  // The counters live in the registry and fill themselves from the statistics on each scrape.
  new Counter({
    name: `${prefix}cache_lookups_total`,
    help: 'Cache lookups by loader, tier (memo, shared) and result (hit, stale, miss).',
    labelNames: ['loader', 'tier', 'result'],
    registers,
    collect(this: Counter<'loader' | 'tier' | 'result'>) {
      this.reset();
      for (const [loader, s] of Object.entries(stats())) {
        this.inc({ loader, tier: 'memo', result: 'hit' }, s.memoHits);
        this.inc({ loader, tier: 'memo', result: 'miss' }, s.loads - s.memoHits);
        const shared = s.sharedHits + s.staleHits;
        if (shared > 0 || s.joins > 0 || s.writes > 0) {
          this.inc({ loader, tier: 'shared', result: 'hit' }, s.sharedHits);
          this.inc({ loader, tier: 'shared', result: 'stale' }, s.staleHits);
          this.inc({ loader, tier: 'shared', result: 'miss' }, s.misses);
        }
      }
    },
  } as CounterConfiguration<'loader' | 'tier' | 'result'>);
  new Counter({
    name: `${prefix}errors_total`,
    help: 'Failed batches, per-key errors and shared store failures, by loader.',
    labelNames: ['loader'],
    registers,
    collect(this: Counter<'loader'>) {
      this.reset();
      for (const [loader, s] of Object.entries(stats())) this.inc({ loader }, s.errors);
    },
  } as CounterConfiguration<'loader'>);
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
      for (const name of ['batch_size', 'source_duration_seconds', 'cache_lookups_total', 'errors_total']) {
        registry.removeSingleMetric(`${prefix}${name}`);
      }
    },
  };
}
