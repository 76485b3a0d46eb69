/**
 * The example server: Yoga with `useLoaders`, a SQL statement count per operation in
 * `extensions.sql`, and the loader trace in `extensions.loaders` for requests that send
 * `x-loaders-trace: 1`. The request header `x-loaderkit-mode` picks naive, dataloader, loaders
 * (default), shared or partly. A request with `x-bench-stats: 1` (which is not counted) gets
 * `extensions.bench`: requests and SQL statements so far per mode, and the partly mode's users
 * loader statistics, which `npm run bench:e2e` reads before and after each run.
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
function useStatementCount(): Plugin {
  const totals = Object.fromEntries(MODES.map((mode) => [mode, { requests: 0, statements: 0 }]));
  return {
    onExecute() {
      return {
        onExecuteDone({ args, result, setResult }) {
          const ctx = args.contextValue as unknown as Context & { request: Request };
          const sql = () => ({ statements: ctx.db.statements, mode: ctx.mode });
          if (!(Symbol.asyncIterator in result)) {
            if (ctx.request.headers.get('x-bench-stats') === '1') {
              const partlyUsers = createPartlyLoaders.stats().loaders.users;
              const bench = { totals, partlyUsers };
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

/** The loader sets a server uses; tests pass fresh ones (a shared set keeps its cache across requests). */
export interface ExampleLoaderSets {
  loaders?: typeof createRequestLoaders;
  shared?: typeof createSharedLoaders;
}

export function createExampleYoga(database: Database, sets: ExampleLoaderSets = {}) {
  return createYoga({
    schema,
    // Several operations in one HTTP request (an array body); each still gets its own loaders.
    batching: true,
    context: ({ request }) => {
      const asked = request.headers.get('x-loaderkit-mode') as Mode | null;
      const mode: Mode = asked !== null && MODES.includes(asked) ? asked : 'loaders';
      const db = countStatements(database);
      // Made here rather than by a third useLoaders plugin, which every other mode would pay for too.
      if (mode === 'partly') return { db, mode, partlyLoaders: createPartlyLoaders({ db }) };
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
      useLoaders(sets.loaders ?? createRequestLoaders, {
        key: 'loaders',
        trace: { header: 'x-loaders-trace' },
      }),
      useLoaders(sets.shared ?? createSharedLoaders, { key: 'sharedLoaders' }),
      useStatementCount(),
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
