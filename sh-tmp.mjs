import { defineLoaders } from '/work/main/dist/index.js';
const N = 1000; const KEYS = Array.from({ length: N }, (_, i) => i);
const createLoaders = defineLoaders({ users: { batch: (keys) => Promise.resolve(keys.map((id) => ({ id, name: `user ${id}` }))), shared: { scope: 'global', ttl: 3_600_000 } } });
const warm = createLoaders({}); await Promise.all(KEYS.map((k) => warm.users.load(k)));
const sharedHit = () => { const r = createLoaders({}); return Promise.all(KEYS.map((k) => r.users.load(k))); };
for (let i = 0; i < 300; i++) await sharedHit();
const s = process.hrtime.bigint(); for (let i = 0; i < 2000; i++) await sharedHit(); console.log(Number(process.hrtime.bigint() - s) / 2000 / N);
