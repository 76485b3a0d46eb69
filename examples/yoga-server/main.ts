/**
 * `npm start`: seeds the database (embedded PGlite, or PostgreSQL when DATABASE_URL is set) and
 * serves GraphiQL.
 */
import { createServer } from 'node:http';
import { openDatabase } from './db.js';
import { SEED, seed } from './seed.js';
import { createExampleYoga } from './server.js';

const port = Number(process.env.PORT ?? 4000);
const database = await openDatabase();
await seed(database);
const yoga = createExampleYoga(database);
const server = createServer(yoga);
server.listen(port, () => {
  console.log(
    `loaderkit example on ${database.kind}: ${SEED.users} users, ${SEED.users * SEED.postsPerUser} posts, ` +
      `${SEED.users * SEED.postsPerUser * SEED.commentsPerPost} comments`,
  );
  console.log(`GraphiQL: http://localhost:${port}${yoga.graphqlEndpoint}`);
  console.log(
    'Headers: x-loaderkit-mode: naive | dataloader | loaders | shared | partly, x-loaders-trace: 1',
  );
});
const stop = async () => {
  server.close();
  await yoga.dispose();
  await database.close();
  process.exit(0);
};
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
