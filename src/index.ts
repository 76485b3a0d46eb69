export type { SharedPolicy } from './cache/policy.js';
export type { BreakerState, RemoteStats, ResilienceOptions } from './cache/remote/resilient.js';
export type {
  LocalEntry,
  LocalStore,
  RemoteNodeStats,
  RemoteStore,
  RemoteWrite,
  StoreStats,
} from './cache/store.js';
export { createMemoryStore, type MemoryStoreOptions } from './cache/stores/memory.js';
export { type CachedFunction, type CachedOptions, cached } from './cached.js';
export {
  type CreateLoaders,
  type CreateLoadersOptions,
  type DefineLoadersOptions,
  defineLoaders,
  type LoaderSpec,
  type Loaders,
  type LoadersContext,
  loader,
  type SpecKey,
  type SpecValue,
} from './define.js';
export { NotFoundError } from './errors.js';
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
export type { LoadersContextOf, LoadersOf } from './loaders-of.js';
export type { LoaderStats } from './observe/stats.js';
export { RequestLoader, type RequestLoadOptions } from './request-loader.js';
