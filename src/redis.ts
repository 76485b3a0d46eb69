/**
 * `loaderkit/redis`: a remote tier on Redis under the in-process one, over your node-redis or ioredis
 * client. `defineLoaders(specs, { remote: createRedisStore({ client }) })`.
 */
export { createRedisStore, RedisNotReadyError, type RedisStoreOptions } from './cache/stores/redis.js';
