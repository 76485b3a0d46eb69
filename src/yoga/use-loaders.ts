/**
 * `useLoaders(createLoaders, options)`: the Yoga (and Envelop) plugin that creates the loaders of
 * each GraphQL operation and puts them on its context, so resolvers call `ctx.users.load(id)`.
 * Import it from `loaderkit/yoga` (graphql-yoga is an optional peer dependency; the root entry never
 * imports it).
 */
import { createGraphQLError, type Plugin, type YogaInitialContext } from 'graphql-yoga';
import { assertCreateLoaders, type CreateLoaders, usedLoaders } from '../define.js';
import { describe } from '../errors.js';
import type { LoadersContextOf, LoadersOf } from '../loaders-of.js';

export type { LoadersContextOf, LoadersOf } from '../loaders-of.js';

/**
 * Decides per request whether its response carries `extensions.loaders`: `request` is the HTTP
 * request, `context` the operation's context (the loaders included). Must return a boolean; a throw
 * or any other value means no trace (and is reported once with `console.warn`).
 */
export type TraceFunction<Ctx = YogaInitialContext & Record<string, any>> = (
  request: Request,
  context: Ctx,
) => boolean;

export interface UseLoadersOptions<
  K extends string | undefined = string | undefined,
  Ctx = YogaInitialContext & Record<string, any>,
> {
  /**
   * Put the loaders under this context key (`ctx.loaders.users`) instead of on the context itself
   * (`ctx.users`). Default: none (on the context).
   */
  key?: K;
  /**
   * Add `extensions.loaders` to a response: per loader used, its loads, batches, keys per batch,
   * memo and shared hits, misses and time in the source. The trace reveals timings and loader names,
   * so the server decides who sees it: a function `(request, context) => boolean` per request (e.g.
   * staff only), `true` for every response, or `{ header: 'x-loaders-trace' }` for any request that
   * sends that header (with any value but `0` or `false`), for development. Default: `false`.
   */
  trace?: boolean | { header: string } | TraceFunction<Ctx>;
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

/** What the plugin adds to the context: the loaders (`ctx.users`), or `ctx[K]` with the `key` option. */
export type AddedContext<C, K extends string | undefined = undefined> = [K] extends [string]
  ? string extends K
    ? { [key: string]: LoadersOf<C> }
    : { [P in K]: LoadersOf<C> }
  : LoadersOf<C>;

/**
 * The context resolvers see with this plugin: Yoga's initial context, what the batch functions need
 * and the loaders. `YogaLoadersContext<typeof createLoaders>`, or with the key option
 * `YogaLoadersContext<typeof createLoaders, 'loaders'>`.
 */
export type YogaLoadersContext<C, K extends string | undefined = undefined> = YogaInitialContext &
  LoadersContextOf<C> &
  AddedContext<C, K>;

/** The fields (with their types) that `Ctx` lacks or types differently from what `Needs` requires. */
type MissingFields<Ctx, Needs> = {
  [P in keyof Needs as P extends keyof Ctx ? ([Ctx[P]] extends [Needs[P]] ? never : P) : P]: Needs[P];
};

/**
 * `unknown` when the Yoga context `Ctx` has what the batch functions need; otherwise a type no
 * `createLoaders` function matches, whose one property names the missing fields.
 */
export type ContextCheck<Ctx, C> = [Ctx] extends [LoadersContextOf<C>]
  ? unknown
  : { 'the Yoga context lacks what the batch functions need': MissingFields<Ctx, LoadersContextOf<C>> };

/**
 * Properties Yoga (or the server adapter) puts on every context, and those every object inherits: a
 * loader named like one of them cannot sit on the context itself.
 */
const RESERVED = new Set<string>([
  'request',
  'params',
  'waitUntil',
  'req',
  'res',
  ...Object.getOwnPropertyNames(Object.prototype),
]);
const OPTIONS = new Set(['key', 'trace']);

/**
 * Creates the loaders for every operation (each operation of a batched HTTP request gets its own),
 * wired to the request's abort signal; a subscription starts every event with an empty memo;
 * `yoga.dispose()` closes the store `defineLoaders` created.
 *
 * Typed: the plugin's context is the Yoga context plus the loaders. Yoga accepts any object in
 * `plugins`, so the context is checked only when Yoga's is named, `createYoga<ServerContext,
 * UserContext>({ ... })`: then a context without what a batch function reads is a type error here.
 */
export function useLoaders<
  C extends CreateLoaders<any>,
  const K extends string | undefined = undefined,
  Ctx extends Record<string, any> = YogaInitialContext & LoadersContextOf<C>,
>(
  createLoaders: C & ContextCheck<Ctx, C>,
  options: UseLoadersOptions<K, Ctx & AddedContext<C, K>> = {},
): Plugin<Ctx & AddedContext<C, K>> {
  assertCreateLoaders(createLoaders, 'useLoaders');
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(
      `useLoaders(createLoaders, options) takes an options object, but got: ${describe(options)}.`,
    );
  }
  for (const option of Object.keys(options)) {
    if (!OPTIONS.has(option))
      throw new TypeError(
        `useLoaders: unknown option ${JSON.stringify(option)} (the options are key and trace), in: ${describe(options)}.`,
      );
  }
  const key = options.key;
  if (key !== undefined && (typeof key !== 'string' || key === '')) {
    throw new TypeError(`useLoaders option key must be a non-empty string, but got: ${describe(key)}.`);
  }
  const names = createLoaders.names as readonly string[];
  if (key === undefined) {
    for (const name of names) {
      if (RESERVED.has(name))
        throw new TypeError(
          `useLoaders: loader ${JSON.stringify(name)} cannot sit on the context, where Yoga (or every object) has its own ${JSON.stringify(name)}; rename the loader or pass { key: 'loaders' } to use ctx.loaders.${name}.`,
        );
    }
  } else if (RESERVED.has(key)) {
    throw new TypeError(
      `useLoaders option key ${JSON.stringify(key)} would hide the context's own ${JSON.stringify(key)}; pick another, e.g. { key: 'loaders' }.`,
    );
  }
  const traced = traceDecider(options.trace ?? false);
  // The loaders ride on the context under this plugin's own symbol: a WeakMap entry per operation
  // cost more (measured with `npm run bench:request`: the ephemeron table grows with the operations in
  // flight and every scavenge walks it).
  const slot = Symbol('loaderkit.useLoaders');
  type Slotted = { [slot]?: Record<string, unknown> };
  return {
    onContextBuilding({ context, extendContext }) {
      const signal = (context as { request?: { signal?: AbortSignal } }).request?.signal;
      // Checked before the loaders are made, so a refused request costs nothing.
      const hidden =
        key === undefined ? names.find((name) => name in context) : key in context ? key : undefined;
      if (hidden !== undefined) throw collision(hidden, key);
      const loaders = createLoaders(
        context as never,
        signal === undefined ? undefined : { signal },
      ) as Record<string, unknown>;
      (context as Slotted)[slot] = loaders;
      if (key !== undefined) {
        extendContext({ [key]: loaders } as never);
        return;
      }
      // Lazy, so a loader an operation never touches is never made.
      for (const name of names) {
        Object.defineProperty(context, name, {
          configurable: true,
          enumerable: true,
          get: () => loaders[name],
        });
      }
    },
    onExecute({ args }) {
      if (traced === null) return undefined;
      const context = args.contextValue as object;
      const loaders = (context as Slotted)[slot];
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
      const loaders = (args.contextValue as Slotted)[slot];
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

/** The per-request error of a context that already has a property where the loaders go. */
function collision(name: string, key: string | undefined) {
  const message =
    key === undefined
      ? `useLoaders: loader ${JSON.stringify(name)} would hide the context's own ${JSON.stringify(name)} (set by the context factory or another plugin); rename the loader or pass { key: 'loaders' }.`
      : `useLoaders: option key ${JSON.stringify(name)} would hide the context's own ${JSON.stringify(name)} (set by the context factory or another plugin); pick another key.`;
  // A GraphQLError is answered as a GraphQL error (unmasked), not as an unexpected crash.
  return createGraphQLError(message, {
    extensions: { code: 'LOADERKIT_CONTEXT_CONFLICT', http: { status: 500 } },
  });
}

/** True for a thenable; a rejecting one is handled here, so it never becomes an unhandled rejection. */
function isThenable(value: unknown): boolean {
  try {
    const then = (value as { then?: unknown } | null)?.then;
    if (typeof then !== 'function') return false;
    Promise.resolve(value).then(undefined, () => {});
    return true;
  } catch {
    return false;
  }
}

/** `null` when nothing is traced, else the per-context decision. */
function traceDecider(trace: unknown): ((context: object) => boolean) | null {
  if (trace === false) return null;
  if (trace === true) return () => true;
  if (typeof trace === 'function') {
    let warned = false;
    const warn = (message: string) => {
      if (warned) return;
      warned = true;
      console.warn(`loaderkit: ${message}`);
    };
    return (context) => {
      let decision: unknown;
      try {
        decision = trace((context as { request: Request }).request, context);
      } catch (error) {
        warn(
          `useLoaders trace function threw, so the response has no trace (reported once): ${error instanceof Error ? error.message : describe(error)}`,
        );
        return false;
      }
      if (typeof decision === 'boolean') return decision;
      const shown = isThenable(decision)
        ? 'a Promise (the decision must be synchronous)'
        : describe(decision);
      warn(
        `useLoaders trace function must return a boolean, but returned ${shown}, so the response has no trace (reported once).`,
      );
      return false;
    };
  }
  if (
    typeof trace === 'object' &&
    trace !== null &&
    typeof (trace as { header?: unknown }).header === 'string' &&
    (trace as { header: string }).header !== ''
  ) {
    const header = (trace as { header: string }).header;
    return (context) => {
      const value = (context as { request?: Request }).request?.headers.get(header);
      return value !== null && value !== undefined && value !== '0' && value !== 'false';
    };
  }
  throw new TypeError(
    `useLoaders option trace must be a boolean, a function (request, context) => boolean or { header: string }, but got: ${describe(trace)}.`,
  );
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
