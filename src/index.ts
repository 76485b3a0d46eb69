export { describe, isError, NotFoundError } from './errors.js';
export { DataLoader, type LoadOptions } from './loader/data-loader.js';
export type {
  BatchEvent,
  BatchLoadContext,
  BatchLoadFn,
  CacheMap,
  DataLoaderOptions,
  DispatchReason,
  LoadEvent,
} from './loader/options.js';
