import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    prometheus: 'src/observe/prometheus.ts',
    opentelemetry: 'src/observe/opentelemetry.ts',
    yoga: 'src/yoga/use-loaders.ts',
    testing: 'src/testing/index.ts',
    redis: 'src/redis.ts',
  },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  tsconfig: 'tsconfig.build.json',
  // Optional peers stay imports, never bundled.
  external: ['prom-client', '@opentelemetry/api', 'graphql', 'graphql-yoga'],
});
