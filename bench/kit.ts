/**
 * The loaderkit the benchmarks measure: the built package (`npm run build` → dist/), exactly what
 * users install, not the TypeScript sources through a dev-time transform.
 */
import type * as Loaderkit from '../src/index.js';

const entry = new URL('../dist/index.js', import.meta.url).href;
export const kit = (await import(entry)) as typeof Loaderkit;
