/**
 * `useLoaders(createLoaders, options)`: the Yoga (and Envelop) plugin that creates the loaders of
 * each GraphQL operation and puts them on its context, so resolvers call `ctx.users.load(id)`.
 * Import it from `loaderkit/yoga` (graphql-yoga is an optional peer dependency; the root entry never
 * imports it).
 */
import type { Plugin } from 'graphql-yoga';
import { assertCreateLoaders, type CreateLoaders, usedLoaders } from '../define.js';
import { describe } from '../errors.js';

export type { LoadersContextOf, LoadersOf } from '../loaders-of.js';

export interface UseLoadersOptions {
  /**
   * Put the loaders under this context key (`ctx.loaders.users`) instead of on the context itself
   * (`ctx.users`). Default: none (on the context).
   */
  key?: string;
  /**
   * Add `extensions.loaders` to each response: per loader used, its loads, batches, keys per batch,
   * memo and shared hits, misses and time in the source. `true` for every response, or
   * `{ header: 'x-loaders-trace' }` to trace only requests that send that header (with any value but
   * `0` or `false`). Default: `false`.
   */
  trace?: boolean | { header: string };
}

/** One loader's line in `extensions.loaders`. */
export interface LoaderTrace {
  loads: number;
  batches: number;
  keysPerBatch: number;
  memoHits: number;
  sharedHits: number;
  staleHits: number;
  misses: number;
  joins: number;
  errors: number;
  sourceMs: number;
}

/**
 * Creates the loaders for every operation (each operation of a batched HTTP request gets its own),
 * wired to the request's abort signal; a subscription starts every event with an empty memo;
 * `yoga.dispose()` closes the store `defineLoaders` created.
 */
export function useLoaders<C extends CreateLoaders<any>>(
  createLoaders: C,
  options: UseLoadersOptions = {},
): Plugin {
  assertCreateLoaders(createLoaders, 'useLoaders');
  const key = options.key;
  if (key !== undefined && (typeof key !== 'string' || key === '')) {
    throw new TypeError(`useLoaders option key must be a non-empty string, but got: ${describe(key)}.`);
  }
  const trace = options.trace ?? false;
  if (
    typeof trace !== 'boolean' &&
    (typeof trace !== 'object' || trace === null || typeof trace.header !== 'string' || trace.header === '')
  ) {
    throw new TypeError(
      `useLoaders option trace must be a boolean or { header: string }, but got: ${describe(trace)}.`,
    );
  }
  const byContext = new WeakMap<object, object>();
  const traced = (context: object): boolean => {
    if (trace === true || trace === false) return trace;
    const value = (context as { request?: Request }).request?.headers.get(trace.header);
    return value !== null && value !== undefined && value !== '0' && value !== 'false';
  };
  return {
    onContextBuilding({ context, extendContext }) {
      const signal = (context as { request?: { signal?: AbortSignal } }).request?.signal;
      const loaders = createLoaders(
        context as never,
        signal === undefined ? undefined : { signal },
      ) as Record<string, unknown>;
      byContext.set(context, loaders);
      if (key !== undefined) {
        extendContext({ [key]: loaders } as never);
        return;
      }
      // Lazy, so a loader an operation never touches is never made.
      for (const name of createLoaders.names as readonly string[]) {
        if (name in context) {
          throw new TypeError(
            `useLoaders: loader ${JSON.stringify(name)} would hide the context's own ${JSON.stringify(name)}; rename the loader or pass { key: 'loaders' }.`,
          );
        }
        Object.defineProperty(context, name, {
          configurable: true,
          enumerable: true,
          get: () => loaders[name],
        });
      }
    },
    onExecute({ args }) {
      if (trace === false) return undefined;
      const context = args.contextValue as object;
      const loaders = byContext.get(context);
      if (loaders === undefined || !traced(context)) return undefined;
      return {
        onExecuteDone({ result, setResult }) {
          if (!(Symbol.asyncIterator in result)) {
            setResult({ ...result, extensions: { ...result.extensions, loaders: traceOf(loaders) } });
            return undefined;
          }
          // Incremental (@defer/@stream): the trace rides on the last payload, when every load is done.
          return {
            onNext({ result: payload, setResult: setPayload }) {
              if ((payload as { hasNext?: boolean }).hasNext !== false) return;
              setPayload({ ...payload, extensions: { ...payload.extensions, loaders: traceOf(loaders) } });
            },
          };
        },
      };
    },
    onSubscribe({ args }) {
      const loaders = byContext.get(args.contextValue as object);
      if (loaders === undefined) return undefined;
      return {
        onSubscribeResult() {
          return {
            // Every event runs on one context, so each starts from an empty memo instead.
            onNext() {
              for (const loader of usedLoaders(loaders)) loader.clearAll();
            },
          };
        },
      };
    },
    onDispose() {
      return createLoaders.close();
    },
  };
}

function traceOf(loaders: object): Record<string, LoaderTrace> {
  const out: Record<string, LoaderTrace> = {};
  for (const loader of usedLoaders(loaders)) {
    const stats = loader.stats();
    out[loader.name] = {
      loads: stats.loads,
      batches: stats.batches,
      keysPerBatch: Math.round(stats.keysPerBatch * 100) / 100,
      memoHits: stats.memoHits,
      sharedHits: stats.sharedHits,
      staleHits: stats.staleHits,
      misses: stats.misses,
      joins: stats.joins,
      errors: stats.errors,
      sourceMs: Math.round(stats.sourceMs * 1000) / 1000,
    };
  }
  return out;
}
