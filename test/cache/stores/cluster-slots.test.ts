/**
 * Key slots as Redis Cluster computes them (src/cache/stores/cluster-slots.ts), checked against a local
 * cluster's own `CLUSTER KEYSLOT` for keys of every kind: hash tags, empty tags, braces in odd places,
 * multi-byte UTF-8.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crc16, slotOf } from '../../../src/cache/stores/cluster-slots.js';
import { type RedisCluster, startCluster } from '../../redis.js';

let cluster: RedisCluster;
beforeAll(async () => {
  cluster = await startCluster(3);
}, 60_000);
afterAll(async () => {
  await cluster?.close();
});

describe('slotOf', () => {
  it('is CRC16/XMODEM (the check value of "123456789" is 0x31C3)', () => {
    expect(crc16(new TextEncoder().encode('123456789'))).toBe(0x31c3);
  });

  it('agrees with the server on hash tags and braces', async () => {
    const keys = [
      'foo',
      '{user1000}.following',
      '{user1000}.followers',
      'foo{}{bar}',
      'foo{{bar}}zap',
      'foo{bar}{zap}',
      '{}',
      '{',
      '}{',
      'a{b',
      'ünïcødé{日本}',
      '9:loaderkit5:users1:1',
    ];
    for (const key of keys) expect(slotOf(key), key).toBe(await cluster.keySlot(key));
  });

  it('agrees with the server on random keys (with braces and any text)', async () => {
    const samples = fc.sample(
      fc.oneof(
        fc.string({ maxLength: 20 }),
        fc.string({ unit: 'binary', maxLength: 10 }).filter((s) => !/\p{Cs}/u.test(s)),
        fc
          .tuple(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }))
          .map(([a, b, c]) => `${a}{${b}}${c}`),
      ),
      { numRuns: 150, seed: 12 },
    );
    for (const key of samples) {
      if (key.length === 0 || key.includes('\n') || key.includes('\r') || key.includes('\0')) continue;
      expect(slotOf(key), JSON.stringify(key)).toBe(await cluster.keySlot(key));
    }
  }, 30_000);
});
