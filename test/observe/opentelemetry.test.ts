import { context, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineLoaders } from '../../src/index.js';
import { createLoaderTracing } from '../../src/observe/opentelemetry.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const tracer = provider.getTracer('test');

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});
afterAll(() => {
  context.disable();
});

describe('createLoaderTracing', () => {
  it('makes one span per batch, a child of the span active where the keys were loaded', async () => {
    exporter.reset();
    const createLoaders = defineLoaders({
      users: { batch: async (ids: readonly number[]) => ids.map((id) => ({ id })) },
      broken: {
        batch: async (_ids: readonly number[]): Promise<number[]> => {
          throw new Error('db down');
        },
      },
    });
    const tracing = createLoaderTracing(createLoaders, { tracer });
    const loaders = createLoaders({});
    await tracer.startActiveSpan('operation', async (operation) => {
      await Promise.all([loaders.users.load(1), loaders.users.load(2), loaders.users.load(1)]);
      await loaders.broken.load(1).catch(() => null);
      operation.end();
    });
    const spans = exporter.getFinishedSpans();
    const operation = spans.find((s) => s.name === 'operation')!;
    const batch = spans.find((s) => s.name === 'loaderkit.batch users')!;
    const failed = spans.find((s) => s.name === 'loaderkit.batch broken')!;
    expect(batch.attributes).toEqual({
      'loaderkit.loader': 'users',
      'loaderkit.batch.size': 2,
      'loaderkit.batch.reason': 'tick',
    });
    expect(batch.parentSpanContext?.spanId).toBe(operation.spanContext().spanId);
    expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'db down' });
    expect(spans.filter((s) => s.name.startsWith('loaderkit.'))).toHaveLength(2);

    tracing.dispose();
    exporter.reset();
    await createLoaders({}).users.load(3);
    expect(exporter.getFinishedSpans()).toHaveLength(0);
  });

  it('refuses what is not a createLoaders function', () => {
    expect(() => createLoaderTracing({} as never)).toThrow(/takes the function defineLoaders returned/);
  });
});
