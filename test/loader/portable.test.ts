/**
 * The schedules outside Node: where there is no `process.nextTick` (browsers, edge workers) the
 * default tick falls back to the event loop as dataloader does. The same scenarios run in Node and
 * bundled in headless Chromium, against loaderkit and npm dataloader.
 */
import { fileURLToPath } from 'node:url';
import NpmDataLoader from 'dataloader';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { DataLoader } from '../../src/index.js';
import { runtimeQueues } from '../../src/loader/schedule.js';
import { browserAvailable, launchChromium } from '../browser.js';
import { PORTABLE_EXPECTED, PORTABLE_SCENARIOS } from './fixtures/portable.js';

const names = Object.keys(PORTABLE_SCENARIOS) as Array<keyof typeof PORTABLE_SCENARIOS>;

describe('portable scenarios in Node', () => {
  it.each(names)('%s: loaderkit and dataloader make the expected batch calls', async (name) => {
    const ours = await PORTABLE_SCENARIOS[name]((fn, options) => new DataLoader(fn, options));
    const theirs = await PORTABLE_SCENARIOS[name]((fn, options) => new NpmDataLoader(fn, options));
    expect(ours).toEqual(PORTABLE_EXPECTED[name]);
    expect(theirs).toEqual(PORTABLE_EXPECTED[name]);
  });
});

describe('runtimeQueues', () => {
  /** A runtime's timer queue that runs only when told to. */
  function manualTimers() {
    const queued: Array<{ fn: () => void; ms: number }> = [];
    return {
      queued,
      setTimeout: (fn: () => void, ms: number) => queued.push({ fn, ms }),
      runAll: () => {
        for (const { fn } of queued.splice(0)) fn();
      },
    };
  }

  it('uses process.nextTick after the promise jobs queued so far, when there is one', async () => {
    const order: string[] = [];
    const ticks: Array<() => void> = [];
    const timers = manualTimers();
    const queues = runtimeQueues({ process: { nextTick: (fn: () => void) => ticks.push(fn) }, ...timers });
    expect(queues.nextTick).not.toBeNull();
    queues.afterPromiseJobs(() => order.push('dispatch'));
    expect(ticks).toHaveLength(0); // queued from a promise job, not at once
    await Promise.resolve();
    expect(ticks).toHaveLength(1);
    ticks[0]!();
    expect(order).toEqual(['dispatch']);
    expect(timers.queued).toHaveLength(0);
  });

  it('falls back to setImmediate without process.nextTick', () => {
    const immediates: Array<() => void> = [];
    const timers = manualTimers();
    const queues = runtimeQueues({ setImmediate: (fn: () => void) => immediates.push(fn), ...timers });
    expect(queues.nextTick).toBeNull();
    let ran = 0;
    queues.afterPromiseJobs(() => ran++);
    queues.nextTurn(() => ran++);
    expect(immediates).toHaveLength(2);
    for (const fn of immediates) fn();
    expect(ran).toBe(2);
    expect(timers.queued).toHaveLength(0);
  });

  it('falls back to setTimeout(fn, 0) with neither (a browser page)', () => {
    const timers = manualTimers();
    const queues = runtimeQueues({ process: undefined, ...timers });
    let ran = 0;
    queues.afterPromiseJobs(() => ran++);
    queues.nextTurn(() => ran++);
    expect(timers.queued.map((t) => t.ms)).toEqual([0, 0]);
    timers.runAll();
    expect(ran).toBe(2);
  });

  it('ignores a process object without a nextTick function', () => {
    const timers = manualTimers();
    expect(runtimeQueues({ process: { nextTick: 'no' }, ...timers }).nextTick).toBeNull();
    expect(runtimeQueues({ process: null, ...timers }).nextTick).toBeNull();
  });
});

describe.skipIf(!browserAvailable)('portable scenarios in a real browser', () => {
  it('batches exactly as in Node, with neither process nor setImmediate', async () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const bundle = await build({
      stdin: {
        contents: `
          import { DataLoader } from './src/index.ts';
          import NpmDataLoader from 'dataloader';
          import { PORTABLE_SCENARIOS } from './test/loader/fixtures/portable.ts';
          // A scenario that never settles (a schedule that never fires) fails fast, by name.
          const within = (name, promise) => Promise.race([
            promise,
            new Promise((_, reject) => setTimeout(() => reject(new Error(name + ' never settled')), 5000)),
          ]);
          globalThis.runPortable = async () => {
            const out = { process: typeof process, setImmediate: typeof setImmediate };
            for (const [name, run] of Object.entries(PORTABLE_SCENARIOS)) {
              out[name] = {
                loaderkit: await within('loaderkit ' + name, run((fn, options) => new DataLoader(fn, options))),
                dataloader: await within('dataloader ' + name, run((fn, options) => new NpmDataLoader(fn, options))),
              };
            }
            return out;
          };`,
        resolveDir: root,
        loader: 'ts',
      },
      bundle: true,
      format: 'iife',
      platform: 'browser',
      write: false,
      logLevel: 'silent',
    });
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const pageErrors: string[] = [];
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.addScriptTag({ content: bundle.outputFiles[0]!.text });
      const out = (await page
        .evaluate('runPortable()')
        .catch((error: Error) => ({ error: error.message, pageErrors }))) as Record<string, unknown>;
      expect(out.error, String(out.pageErrors)).toBeUndefined();
      expect(out.process).toBe('undefined');
      expect(out.setImmediate).toBe('undefined');
      for (const name of names) {
        expect(out[name], name).toEqual({
          loaderkit: PORTABLE_EXPECTED[name],
          dataloader: PORTABLE_EXPECTED[name],
        });
      }
    } finally {
      await browser.close();
    }
  }, 60_000);
});

describe('fake timers that replace process.nextTick (as Jest does)', () => {
  it('hold batches back exactly as they hold back dataloader', async () => {
    const calls: Record<string, number[][]> = { loaderkit: [], dataloader: [] };
    const batch = (name: string) => async (keys: readonly number[]) => {
      calls[name]!.push([...keys]);
      return keys.map((k) => k * 2);
    };
    const realNextTick = process.nextTick;
    const held: Array<() => void> = [];
    process.nextTick = ((fn: () => void) => held.push(fn)) as typeof process.nextTick;
    let loads: Promise<number>[];
    try {
      const ours = new DataLoader(batch('loaderkit'));
      const theirs = new NpmDataLoader(batch('dataloader'));
      loads = [ours.load(1), theirs.load(1), ours.load(2), theirs.load(2)];
      // Promise jobs run, the faked ticks do not: neither library has called its batch function.
      for (let i = 0; i < 5; i++) await Promise.resolve();
      expect(calls).toEqual({ loaderkit: [], dataloader: [] });
      expect(held).toHaveLength(2);
    } finally {
      process.nextTick = realNextTick;
    }
    for (const fn of held) fn();
    expect(calls).toEqual({ loaderkit: [[1, 2]], dataloader: [[1, 2]] });
    await expect(Promise.all(loads)).resolves.toEqual([2, 2, 4, 4]);
  });
});
