/**
 * The floor of `npm run bench`: the least a dataloader-compatible loader can do per load, to show how
 * far loaderkit is from it. Nothing but a `Map` memo and one promise per key, batching on
 * dataloader's tick (`process.nextTick` queued from a promise job, so loads made in promise callbacks
 * of the same tick still join), with dataloader's memo-hit timing: a hit resolves with the batch
 * pending at the time of the call (when it dispatches with no keys, or when its values arrive, before
 * its keys resolve). No options but `maxBatchSize`, no validation of the batch function's answer, no
 * errors per key, no cacheKeyFn, no signals, no listeners.
 *
 * Each key's promise is `outcome.then(takeKey)` on a per-batch promise fulfilled with the values:
 * reactions run in the order they were added, so the i-th reaction answers key i. That is one
 * promise and one reaction per key, the cheapest way to hand each key its own promise (dataloader's
 * `new Promise(executor)` per key also allocates two resolving functions and a closure).
 */

type BatchFn<K, V> = (keys: K[]) => PromiseLike<ArrayLike<V>>;

class FloorBatch<K, V> {
  readonly keys: K[] = [];
  dispatched = false;
  /** The values, and the index of the next key (or hit) to answer. */
  values: ArrayLike<V> | null = null;
  cursor = 0;
  hits: Promise<V>[] | null = null;
  hitCursor = 0;
  readonly outcome: Promise<FloorBatch<K, V>>;
  resolve!: (batch: FloorBatch<K, V>) => void;
  constructor() {
    this.outcome = new Promise((resolve) => {
      this.resolve = resolve;
    });
  }
}
// Resolving `outcome` with the batch looks up `then` on it: keep that lookup short.
Object.setPrototypeOf(FloorBatch.prototype, null);

function takeKey<K, V>(batch: FloorBatch<K, V>): V {
  return batch.values![batch.cursor++]!;
}

function takeHit<K, V>(batch: FloorBatch<K, V>): Promise<V> {
  return batch.hits![batch.hitCursor++]!;
}

const resolved = Promise.resolve();

export class FloorLoader<K, V> {
  private readonly memo = new Map<K, Promise<V>>();
  private batch: FloorBatch<K, V> | null = null;
  private readonly maxBatchSize: number;

  constructor(
    private readonly batchFn: BatchFn<K, V>,
    options?: { maxBatchSize?: number },
  ) {
    this.maxBatchSize = options?.maxBatchSize ?? Number.POSITIVE_INFINITY;
  }

  load(key: K): Promise<V> {
    const cached = this.memo.get(key);
    const batch = this.pending();
    if (cached !== undefined) {
      // dataloader's timing: the hit waits for the pending batch.
      if (batch.hits === null) batch.hits = [];
      batch.hits.push(cached);
      return batch.outcome.then(takeHit) as Promise<V>;
    }
    batch.keys.push(key);
    const promise = batch.outcome.then(takeKey) as Promise<V>;
    this.memo.set(key, promise);
    return promise;
  }

  loadMany(keys: K[]): Promise<Array<V | Error>> {
    const promises = new Array<Promise<V | Error>>(keys.length);
    for (let i = 0; i < keys.length; i++) promises[i] = this.load(keys[i]!).then(undefined, toError);
    return Promise.all(promises);
  }

  prime(key: K, value: V): this {
    if (!this.memo.has(key)) this.memo.set(key, Promise.resolve(value));
    return this;
  }

  private pending(): FloorBatch<K, V> {
    const batch = this.batch;
    if (batch !== null && !batch.dispatched && batch.keys.length < this.maxBatchSize) return batch;
    const next = new FloorBatch<K, V>();
    this.batch = next;
    resolved.then(() => process.nextTick(dispatch, this, next));
    return next;
  }

  /** @internal */
  dispatch(batch: FloorBatch<K, V>): void {
    batch.dispatched = true;
    if (this.batch === batch) this.batch = null;
    if (batch.keys.length === 0) {
      batch.resolve(batch);
      return;
    }
    this.batchFn(batch.keys).then((values) => {
      // Hits and keys react in load order, each list through its own cursor.
      batch.values = values;
      batch.resolve(batch);
    });
  }
}

function dispatch<K, V>(loader: FloorLoader<K, V>, batch: FloorBatch<K, V>): void {
  loader.dispatch(batch);
}

function toError(error: unknown): Error {
  return error as Error;
}
