/**
 * The example server: Yoga with `useLoaders`, a SQL statement count per operation in
 * `extensions.sql`, and the loader trace in `extensions.loaders` for requests that send
 * `x-loaders-trace: 1`. The request header `x-loaderkit-mode` picks naive, loaders (default) or shared.
 */
import { createYoga, type Plugin } from 'graphql-yoga';
import { useLoaders } from '../../src/index.js';
import { countStatements, type Database } from './db.js';
import { createRequestLoaders, createSharedLoaders } from './loaders.js';
import { type Context, type Mode, schema } from './schema.js';

const MODES: readonly Mode[] = ['naive', 'loaders', 'shared'];

/** Reports how many SQL statements an operation ran. */
function useStatementCount(): Plugin {
  return {
    onExecute() {
      return {
        onExecuteDone({ args, result, setResult }) {
          if (Symbol.asyncIterator in result) return;
          const ctx = args.contextValue as unknown as Context;
          setResult({
            ...result,
            extensions: { ...result.extensions, sql: { statements: ctx.db.statements, mode: ctx.mode } },
          });
        },
      };
    },
  };
}

export function createExampleYoga(database: Database) {
  return createYoga({
    schema,
    // Several operations in one HTTP request (an array body); each still gets its own loaders.
    batching: true,
    context: ({ request }) => {
      const asked = request.headers.get('x-loaderkit-mode') as Mode | null;
      const mode: Mode = asked !== null && MODES.includes(asked) ? asked : 'loaders';
      return { db: countStatements(database), mode };
    },
    plugins: [
      useLoaders(createRequestLoaders, { key: 'loaders', trace: { header: 'x-loaders-trace' } }),
      useLoaders(createSharedLoaders, { key: 'sharedLoaders' }),
      useStatementCount(),
    ],
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
