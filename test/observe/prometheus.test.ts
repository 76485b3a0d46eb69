import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { defineLoaders } from '../../src/index.js';
import { createLoaderMetrics } from '../../src/observe/prometheus.js';

function definitions() {
  return defineLoaders({
    users: {
      batch: async (ids: readonly number[]) => ids.map((id) => (id === 13 ? new Error('unlucky') : { id })),
      shared: { scope: 'global', ttl: 60_000 },
    },
    tags: {
      batch: async (names: readonly string[]) => {
        if (names.includes('boom')) throw new Error('tags down');
        return names.map((name) => name.length);
      },
    },
  });
}

/** The value of one sample line, e.g. `loaderkit_batch_size_count{loader="users"}`. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('createLoaderMetrics', () => {
  it('counts batches, source calls, cache lookups and errors per loader', async () => {
    const registry = new Registry();
    const createLoaders = definitions();
    const metrics = createLoaderMetrics(createLoaders, { registry });
    const a = createLoaders({});
    await Promise.all([
      a.users.load(1),
      a.users.load(2),
      a.users.load(1),
      a.users.load(13).catch(() => null),
    ]);
    await Promise.all([a.tags.load('x'), a.tags.load('yy')]);
    await a.tags.load('boom').catch(() => null);
    await createLoaders({}).users.loadMany([1, 2]); // shared hits in a new request

    const text = await registry.metrics();
    expect(sample(text, 'loaderkit_batch_size_count{loader="users"}')).toBe(1);
    expect(sample(text, 'loaderkit_batch_size_sum{loader="users"}')).toBe(3);
    expect(sample(text, 'loaderkit_batch_size_count{loader="tags"}')).toBe(2);
    expect(sample(text, 'loaderkit_source_duration_seconds_count{loader="tags",result="ok"}')).toBe(1);
    expect(sample(text, 'loaderkit_source_duration_seconds_count{loader="tags",result="error"}')).toBe(1);
    expect(sample(text, 'loaderkit_cache_lookups_total{loader="users",tier="memo",result="hit"}')).toBe(1);
    expect(sample(text, 'loaderkit_cache_lookups_total{loader="users",tier="memo",result="miss"}')).toBe(5);
    expect(sample(text, 'loaderkit_cache_lookups_total{loader="users",tier="shared",result="hit"}')).toBe(2);
    expect(sample(text, 'loaderkit_cache_lookups_total{loader="users",tier="shared",result="miss"}')).toBe(3);
    expect(
      sample(text, 'loaderkit_cache_lookups_total{loader="tags",tier="shared",result="hit"}'),
    ).toBeUndefined();
    expect(sample(text, 'loaderkit_errors_total{loader="users"}')).toBe(1);
    expect(sample(text, 'loaderkit_errors_total{loader="tags"}')).toBe(1);

    metrics.dispose();
    expect(await registry.metrics()).not.toContain('loaderkit_');
    await createLoaders({}).tags.load('zzz'); // no observer left: nothing to record, nothing throws
    await createLoaders.close();
  });

  it('takes a prefix, and refuses bad arguments with messages that name them', () => {
    const registry = new Registry();
    const metrics = createLoaderMetrics(definitions(), { registry, prefix: 'app_loaders_' });
    expect(registry.getSingleMetric('app_loaders_batch_size')).toBeDefined();
    metrics.dispose();
    expect(() => createLoaderMetrics((() => ({})) as never)).toThrow(
      /takes the function defineLoaders returned/,
    );
    expect(() => createLoaderMetrics(definitions(), { registry, prefix: 'bad prefix' })).toThrow(/prefix/);
  });
});
