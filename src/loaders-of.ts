/**
 * Types derived from a `createLoaders` function, for code that does not name the specs.
 */
import type { CreateLoaders, Loaders, LoadersContext } from './define.js';

/** The loaders object `createLoaders(context)` returns: `LoadersOf<typeof createLoaders>`. */
export type LoadersOf<C> = C extends CreateLoaders<infer S> ? Loaders<S> : never;

/**
 * The context `createLoaders` takes (what its batch functions need), as an object type: `{}` when no
 * batch function reads the context.
 */
export type LoadersContextOf<C> =
  C extends CreateLoaders<infer S> ? (unknown extends LoadersContext<S> ? {} : LoadersContext<S>) : never;
