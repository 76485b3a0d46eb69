import { defineLoaders } from '../src/index.js';
const p = defineLoaders({ plain: { batch: async (ids: readonly number[]) => ids } });
type P = Parameters<typeof p>[0];
type IsAny<T> = 0 extends 1 & T ? true : false;
const r: IsAny<P> = 'x';
