/**
 * The exact runtime exports of each entry: a new export (or a helper leaking out) is a decision, made
 * here, not an accident of `export *`.
 */
import { describe, expect, it } from 'vitest';
import { ROOT_EXPORTS } from '../helpers.js';

const keys = (module: object) => Object.keys(module).sort();

describe('entry exports', () => {
  it("'loaderkit'", async () => {
    expect(keys(await import('../../src/index.js'))).toEqual(ROOT_EXPORTS);
  });

  it("'loaderkit/yoga'", async () => {
    expect(keys(await import('../../src/yoga/use-loaders.js'))).toEqual(['useLoaders']);
  });

  it("'loaderkit/prometheus'", async () => {
    expect(keys(await import('../../src/observe/prometheus.js'))).toEqual(['createLoaderMetrics']);
  });

  it("'loaderkit/opentelemetry'", async () => {
    expect(keys(await import('../../src/observe/opentelemetry.js'))).toEqual(['createLoaderTracing']);
  });

  it("'loaderkit/redis'", async () => {
    expect(keys(await import('../../src/redis.js'))).toEqual(['RedisNotReadyError', 'createRedisStore']);
  });

  it("'loaderkit/testing'", async () => {
    expect(keys(await import('../../src/testing/index.js'))).toEqual([
      'CHAOS_ANSWERS',
      'ChaosError',
      'ConformanceError',
      'chaosRemoteStore',
      'createTestBusHub',
      'createTestRemoteStore',
      'localStoreConformance',
      'remoteStoreConformance',
    ]);
  });

  it('package.json exports exactly these entries, each built by tsup', async () => {
    const { default: pkg } = await import('../../package.json', { with: { type: 'json' } });
    const { default: config } = await import('../../tsup.config.js');
    expect(Object.keys(pkg.exports)).toEqual([
      '.',
      './prometheus',
      './opentelemetry',
      './yoga',
      './testing',
      './redis',
      './package.json',
    ]);
    const entry = (config as { entry: Record<string, string> }).entry;
    expect(entry).toEqual({
      index: 'src/index.ts',
      prometheus: 'src/observe/prometheus.ts',
      opentelemetry: 'src/observe/opentelemetry.ts',
      yoga: 'src/yoga/use-loaders.ts',
      testing: 'src/testing/index.ts',
      redis: 'src/redis.ts',
    });
    for (const name of ['prometheus', 'opentelemetry', 'yoga', 'testing', 'redis'])
      expect(pkg.exports[`./${name}` as keyof typeof pkg.exports]).toEqual({
        import: { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` },
        require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
      });
    expect(pkg.peerDependenciesMeta['graphql-yoga']).toEqual({ optional: true });
    // The Redis clients are optional peers: loaderkit/redis takes the user's client and imports neither.
    expect(pkg.peerDependencies).toMatchObject({ redis: '^5.0.0 || ^6.0.0', ioredis: '^5.0.0 || ^6.0.0' });
    expect(pkg.peerDependenciesMeta.redis).toEqual({ optional: true });
    expect(pkg.peerDependenciesMeta.ioredis).toEqual({ optional: true });
  });
});
