/**
 * The loaderkit the benchmarks measure: the built package (`npm run build` → dist/), exactly what
 * users install, not the TypeScript sources through a dev-time transform.
 */
import type * as Loaderkit from '../src/index.js';
import type * as LoaderkitYoga from '../src/yoga/use-loaders.js';

const dist = (entry: string) => new URL(`../dist/${entry}.js`, import.meta.url).href;
export const kit = (await import(dist('index'))) as typeof Loaderkit;
/** The `loaderkit/yoga` entry. */
export const kitYoga = (await import(dist('yoga'))) as typeof LoaderkitYoga;
