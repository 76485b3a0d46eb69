/**
 * `useLoaders(createLoaders, options)`: the Yoga (and Envelop) plugin that creates the loaders of
 * each GraphQL operation and puts them on its context, so resolvers call `ctx.users.load(id)`.
 */
import type { Plugin } from 'graphql-yoga';
import { type CreateLoaders, type Loaders, usedLoaders } from '../define.js';
import { describe } from '../errors.js';

export interface UseLoadersOptions {
  /**
   * Put the loaders under this context key (`ctx.loaders.users`) instead of on the context itself
   * (`ctx.users`). Default: none (on the context).
   */
  key?: string;
}

/** The loaders object a plugin built with these loader definitions puts on the context. */
export type LoadersOf<C> = C extends CreateLoaders<infer S> ? Loaders<S> : never;

/**
 * Creates the loaders for every operation (each operation of a batched HTTP request gets its own),
 * wired to the request's abort signal; a subscription starts every event with an empty memo;
 * `yoga.dispose()` closes the store `defineLoaders` created.
 */
export function useLoaders<C extends CreateLoaders<any>>(
  createLoaders: C,
  options: UseLoadersOptions = {},
): Plugin {
  if (typeof createLoaders !== 'function' || !Array.isArray(createLoaders.names)) {
    throw new TypeError(
      `useLoaders(createLoaders) takes the function defineLoaders returned, but got: ${describe(createLoaders)}.`,
    );
  }
  const key = options.key;
  if (key !== undefined && (typeof key !== 'string' || key === '')) {
    throw new TypeError(`useLoaders option key must be a non-empty string, but got: ${describe(key)}.`);
  }
  const byContext = new WeakMap<object, object>();
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
