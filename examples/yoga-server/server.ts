/**
 * The example server: Yoga with `useLoaders`, a SQL statement count per operation in
 * `extensions.sql`, and the loader trace in `extensions.loaders` for requests that send
 * `x-loaders-trace: 1` (of the shared loaders in `shared` mode, else of the per-request ones). The request header `x-loaderkit-mode` picks naive, dataloader, loaders
 * (default), shared or partly. A request with `x-bench-stats: 1` (which is not counted) gets
 * `extensions.bench`: requests and SQL statements so far per mode, the partly mode's users loader
 * statistics, which `npm run bench:e2e` reads before and after each run, and the shared set's
 * statistics (per loader, and its remote tier's when it has one, e.g. Redis).
 */

import { useDeferStream } from '@graphql-yoga/plugin-defer-stream';
import { renderGraphiQL } from '@graphql-yoga/render-graphiql';
import DataLoader from 'dataloader';
import { createYoga, type Plugin } from 'graphql-yoga';
import { useLoaders } from '../../src/yoga/use-loaders.js';
import { countStatements, type Database } from './db.js';
import { batches, createPartlyLoaders, createRequestLoaders, createSharedLoaders } from './loaders.js';
import { type Context, type LoaderSet, type Mode, schema } from './schema.js';

const MODES: readonly Mode[] = ['naive', 'dataloader', 'loaders', 'shared', 'partly'];

/** Reports how many SQL statements an operation ran; keeps totals per mode for the benchmark. */
function useStatementCount(partly: typeof createPartlyLoaders, shared: typeof createSharedLoaders): Plugin {
  const totals = Object.fromEntries(MODES.map((mode) => [mode, { requests: 0, statements: 0 }]));
  return {
    onExecute() {
      return {
        onExecuteDone({ args, result, setResult }) {
          const ctx = args.contextValue as unknown as Context & { request: Request };
          const sql = () => ({ statements: ctx.db.statements, mode: ctx.mode });
          if (!(Symbol.asyncIterator in result)) {
            if (ctx.request.headers.get('x-bench-stats') === '1') {
              const partlyUsers = partly.stats().loaders.users;
              const { loaders, remote, bus } = shared.stats();
              const bench = {
                totals,
                partlyUsers,
                shared: { loaders, remote: remote ?? null, bus: bus ?? null },
              };
              setResult({ ...result, extensions: { ...result.extensions, sql: sql(), bench } });
              return undefined;
            }
            totals[ctx.mode]!.requests++;
            totals[ctx.mode]!.statements += ctx.db.statements;
            setResult({ ...result, extensions: { ...result.extensions, sql: sql() } });
            return undefined;
          }
          // Incremental (@defer/@stream): the count rides on the last payload.
          return {
            onNext({ result: payload, setResult: setPayload }) {
              if ((payload as { hasNext?: boolean }).hasNext !== false) return;
              setPayload({ ...payload, extensions: { ...payload.extensions, sql: sql() } });
            },
          };
        },
      };
    },
  };
}

/**
 * The loader sets a server uses; tests pass fresh ones (a shared set keeps its cache across requests),
 * `npm start` passes sets over Redis when REDIS_URL is set.
 */
export interface ExampleLoaderSets {
  loaders?: typeof createRequestLoaders;
  shared?: typeof createSharedLoaders;
  partly?: typeof createPartlyLoaders;
}

/** Whether a request asked for the loader trace (`x-loaders-trace` with any value but `0`/`false`). */
const traceAsked = (request: Request) => {
  const value = request.headers.get('x-loaders-trace');
  return value !== null && value !== '0' && value !== 'false';
};

export function createExampleYoga(database: Database, sets: ExampleLoaderSets = {}) {
  const shared = sets.shared ?? createSharedLoaders;
  const partly = sets.partly ?? createPartlyLoaders;
  return createYoga({
    schema,
    // Several operations in one HTTP request (an array body); each still gets its own loaders.
    batching: true,
    context: ({ request }) => {
      const asked = request.headers.get('x-loaderkit-mode') as Mode | null;
      const mode: Mode = asked !== null && MODES.includes(asked) ? asked : 'loaders';
      const db = countStatements(database);
      // Made here rather than by a third useLoaders plugin, which every other mode would pay for too.
      if (mode === 'partly') return { db, mode, partlyLoaders: partly({ db }) };
      if (mode !== 'dataloader') return { db, mode };
      // The hand-wired baseline: npm dataloader per request over the same batch functions.
      const ctx = { db };
      const dataloaders: LoaderSet = {
        users: new DataLoader((ids: readonly number[]) => batches.users(ids, ctx)),
        postsByAuthor: new DataLoader((ids: readonly number[]) => batches.postsByAuthor(ids, ctx)),
        commentsByPost: new DataLoader((ids: readonly number[]) => batches.commentsByPost(ids, ctx)),
        tagsByPost: new DataLoader((ids: readonly number[]) => batches.tagsByPost(ids, ctx)),
      };
      return { db, mode, dataloaders };
    },
    plugins: [
      useDeferStream(),
      // One trace per response: of the loaders the mode uses (the shared ones in `shared` mode).
      useLoaders(sets.loaders ?? createRequestLoaders, {
        key: 'loaders',
        trace: (request, ctx) => traceAsked(request) && (ctx as { mode?: Mode }).mode !== 'shared',
      }),
      useLoaders(shared, {
        key: 'sharedLoaders',
        trace: (request, ctx) => traceAsked(request) && (ctx as { mode?: Mode }).mode === 'shared',
      }),
      useStatementCount(partly, shared),
    ],
    // GraphiQL's assets served by the server itself, not from a CDN (works offline).
    renderGraphiQL,
    graphiql: {
      defaultQuery: /* GraphQL */ `{
  users(limit: 5) {
    name
    posts { title tags { name } comments { body author { name } } }
  }
}`,
    },
  });
}
