/**
 * `loaderkit/testing`: what tests of stores need, independent of any test framework.
 *
 * - {@link createTestRemoteStore}: an in-memory remote store with command counters.
 * - {@link createTestBusHub}: an in-process invalidation bus (pub/sub with pause, disconnect, strangers).
 * - {@link chaosRemoteStore}: a wrapper that makes any remote store slow, hung, failing or lying.
 * - {@link remoteStoreConformance} and {@link localStoreConformance}: the store contracts as lists of
 *   cases, to run under any test runner: `for (const c of remoteStoreConformance(create)) it(c.name, c.run)`.
 */
export {
  CHAOS_ANSWERS,
  type ChaosAnswer,
  type ChaosAnswerScope,
  type ChaosCalls,
  type ChaosDelayScope,
  ChaosError,
  type ChaosRemoteStore,
  type ChaosRemoteStoreOptions,
  type ChaosScope,
  type ChaosTarget,
  chaosRemoteStore,
  type RemoteMethod,
} from './chaos.js';
export {
  type ConformanceCase,
  ConformanceError,
  type LocalStoreConformanceOptions,
  type LocalStoreFactoryOptions,
  localStoreConformance,
  type RemoteStoreConformanceOptions,
  remoteStoreConformance,
} from './conformance.js';
export {
  createTestBusHub,
  type TestBusHub,
  type TestBusTransport,
  type TestBusTransportOptions,
} from './memory-bus.js';
export {
  createTestRemoteStore,
  type TestRemoteCommands,
  type TestRemoteStore,
  type TestRemoteStoreOptions,
} from './memory-remote.js';
