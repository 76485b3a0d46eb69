/**
 * OpenTelemetry tracing for loaderkit, on @opentelemetry/api (an optional peer dependency): import
 * from `loaderkit/opentelemetry`. One span per batch, a child of whatever span is active where the
 * batch's first key was loaded (the resolver's, with an async context manager), so traces show N+1
 * turned into one batch per level.
 */
import { SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { assertCreateLoaders, type CreateLoaders } from '../define.js';

export interface LoaderTracingOptions {
  /** The tracer that makes the spans. Default: `trace.getTracer('loaderkit')`. */
  tracer?: Tracer;
}

export interface LoaderTracing {
  /** Stops making spans. */
  dispose(): void;
}

/**
 * Makes a span `loaderkit.batch <loader>` for every batch, with attributes `loaderkit.loader`,
 * `loaderkit.batch.size` and `loaderkit.batch.reason` (tick, window, full, settle, schedule); a
 * failed batch records its error and sets the status to ERROR.
 */
export function createLoaderTracing(
  createLoaders: CreateLoaders<any>,
  options: LoaderTracingOptions = {},
): LoaderTracing {
  assertCreateLoaders(createLoaders, 'createLoaderTracing');
  const tracer = options.tracer ?? trace.getTracer('loaderkit');
  const stop = createLoaders.observe({
    batch(loader, size, reason) {
      const span = tracer.startSpan(`loaderkit.batch ${loader}`, {
        attributes: {
          'loaderkit.loader': loader,
          'loaderkit.batch.size': size,
          'loaderkit.batch.reason': reason,
        },
      });
      return (error?: unknown) => {
        if (error !== undefined) {
          span.recordException(error instanceof Error ? error : String(error));
          span.setStatus({
            code: SpanStatusCode.ERROR,
            message: error instanceof Error ? error.message : String(error),
          });
        }
        span.end();
      };
    },
  });
  return { dispose: stop };
}
