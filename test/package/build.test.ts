/**
 * The built package, installed the way users get it: `loaderkit` in a project's node_modules with
 * its dependencies but without the optional peer graphql-yoga. The root entry must load and
 * type-check there (`skipLibCheck: false`); `loaderkit/yoga` must fail only for want of graphql-yoga.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_EXPORTS } from '../helpers.js';

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const bin = (name: string) => join(repo, 'node_modules/.bin', name);

let project: string;
let dist: string;

/** Runs the repo's tsc in the consumer project; the exit code and the diagnostics, one per line. */
async function tsc(): Promise<{ code: number; errors: string[] }> {
  try {
    await run(bin('tsc'), ['-p', project], { cwd: project });
    return { code: 0, errors: [] };
  } catch (error) {
    const { code, stdout } = error as { code: number; stdout: string };
    return { code, errors: stdout.split('\n').filter((line) => /error TS\d+/.test(line)) };
  }
}

beforeAll(async () => {
  project = await mkdtemp(join(tmpdir(), 'loaderkit-consumer-'));
  // Built into the temp dir, so a developer's dist/ is neither needed nor overwritten.
  dist = join(project, 'node_modules/loaderkit/dist');
  await run(bin('tsup'), ['--out-dir', dist], { cwd: repo });
  await cp(join(repo, 'package.json'), join(project, 'node_modules/loaderkit/package.json'));
  // The dependencies npm would install with it (linked), and no graphql-yoga.
  for (const dependency of Object.keys(
    JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')).dependencies,
  ))
    await symlink(join(repo, 'node_modules', dependency), join(project, 'node_modules', dependency), 'dir');
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({ name: 'consumer', type: 'module', private: true }),
  );
  await writeFile(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true,
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        lib: ['es2022', 'dom'],
        types: [],
        skipLibCheck: false,
        noEmit: true,
      },
      include: ['src'],
    }),
  );
  await mkdir(join(project, 'src'));
  await writeFile(
    join(project, 'src/root.ts'),
    "import { DataLoader, defineLoaders } from 'loaderkit';\n" +
      'export const users = new DataLoader(async (ids: readonly number[]) => ids.map((id) => ({ id })));\n' +
      'export const createLoaders = defineLoaders({ users: { batch: async (ids: readonly number[]) => ids } });\n',
  );
  await writeFile(
    join(project, 'src/root.cts'),
    "import loaderkit = require('loaderkit');\nexport const users = new loaderkit.DataLoader(async (ids: readonly number[]) => ids);\n",
  );
}, 60_000);

afterAll(async () => {
  if (project !== undefined) await rm(project, { recursive: true, force: true });
});

describe('the built package without graphql-yoga', () => {
  it("type-checks `import { DataLoader } from 'loaderkit'` with skipLibCheck false (ESM and CJS)", async () => {
    expect(await tsc()).toEqual({ code: 0, errors: [] });
  });

  it('loads the root entry at run time (import and require)', async () => {
    const script = [
      "const esm = await import('loaderkit');",
      "const cjs = (await import('node:module')).createRequire(import.meta.url)('loaderkit');",
      'const ids = await new esm.DataLoader(async (keys) => keys).loadMany([1, 2]);',
      'console.log(JSON.stringify([ids, typeof cjs.DataLoader, Object.keys(esm).sort()]));',
    ].join('\n');
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { cwd: project });
    expect(JSON.parse(stdout)).toEqual([[1, 2], 'function', ROOT_EXPORTS]);
  });

  it('the root entry and every file it pulls in never name graphql-yoga or graphql', async () => {
    const seen = new Set<string>();
    const visit = async (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const text = await readFile(join(dist, file), 'utf8');
      expect(text, file).not.toMatch(/['"]graphql(-yoga)?['"/]/);
      for (const [, target] of text.matchAll(/(?:from|import|require\()\s*['"]\.\/([^'"]+)['"]/g)) {
        // A declaration file names its chunk by the code's extension: define-x.js is define-x.d.ts.
        const declaration = /\.d\.c?ts$/.test(file);
        await visit(declaration ? target!.replace(/\.js$/, '.d.ts').replace(/\.cjs$/, '.d.cts') : target!);
      }
    };
    for (const entry of ['index.js', 'index.cjs', 'index.d.ts', 'index.d.cts']) await visit(entry);
    // The imports were followed (declarations and code live in shared chunks).
    expect(seen.size).toBeGreaterThan(4);
  });

  it('fails on `loaderkit/yoga` only because graphql-yoga is absent, and passes once it is there', async () => {
    const consumer = join(project, 'src/yoga.ts');
    await writeFile(
      consumer,
      "import { defineLoaders } from 'loaderkit';\nimport { useLoaders } from 'loaderkit/yoga';\n" +
        'const createLoaders = defineLoaders({ users: { batch: async (ids: readonly number[], ctx: { db: string }) => ids.map(() => ctx.db) } });\n' +
        "export const plugin = useLoaders(createLoaders, { key: 'loaders' });\n",
    );
    try {
      const without = await tsc();
      expect(without.code).not.toBe(0);
      expect(without.errors.length).toBeGreaterThan(0);
      for (const line of without.errors)
        expect(line).toMatch(/error TS2307: Cannot find module 'graphql-yoga'/);

      await symlink(
        join(repo, 'node_modules/graphql-yoga'),
        join(project, 'node_modules/graphql-yoga'),
        'dir',
      );
      // graphql-yoga's own dependencies' declarations have errors of their own under skipLibCheck
      // false (they need lib esnext and @types/node); none may be in loaderkit or in the consumer.
      const withYoga = await tsc();
      const ours = withYoga.errors.filter(
        (line) => !line.includes('/node_modules/') || line.includes('loaderkit/'),
      );
      expect(ours).toEqual([]);
    } finally {
      await rm(consumer);
      await rm(join(project, 'node_modules/graphql-yoga'), { force: true });
    }
  });
});
