/**
 * End to end in a real browser: headless Chromium opens GraphiQL on the example server, runs the
 * nested query and sees the data (see test/browser.ts for when it runs).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Database, openDatabase } from '../../examples/yoga-server/db.js';
import { seed } from '../../examples/yoga-server/seed.js';
import { createExampleYoga } from '../../examples/yoga-server/server.js';
import { browserAvailable, launchChromium } from '../browser.js';

describe.skipIf(!browserAvailable)('examples/yoga-server in a real browser', () => {
  let database: Database;
  let server: Server;
  let url: string;

  beforeAll(async () => {
    database = await openDatabase('');
    await seed(database);
    server = createServer(createExampleYoga(database));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  }, 60_000);

  afterAll(async () => {
    await new Promise((resolve) => server?.close(resolve));
    await database?.close();
  });

  it('runs the nested query from GraphiQL and shows the data', async () => {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const responses: string[] = [];
      page.on('response', async (response) => {
        if (response.request().method() === 'POST' && response.url() === url)
          responses.push(await response.text());
      });
      await page.goto(url, { waitUntil: 'load' });
      const run = page.locator('.graphiql-execute-button');
      await run.waitFor({ state: 'visible', timeout: 30_000 });
      // The editor holds the server's default query once GraphiQL has finished loading.
      // Monaco renders spaces as no-break spaces.
      await page.waitForFunction(
        () => (document.body.textContent ?? '').replace(/\u00a0/g, ' ').includes('users(limit: 5)'),
        undefined,
        {
          timeout: 30_000,
        },
      );
      await run.click();
      await page.waitForFunction(
        () => (document.body.textContent ?? '').replace(/\u00a0/g, ' ').includes('"user 1"'),
        undefined,
        { timeout: 30_000 },
      );
      await page.screenshot({ path: 'test/examples/.graphiql.png' });
      const body = JSON.parse(responses.at(-1)!);
      expect(body.data.users).toHaveLength(5);
      expect(body.data.users[0].name).toBe('user 1');
      expect(body.extensions.sql.statements).toBe(5);
    } finally {
      await browser.close();
    }
  }, 90_000);
});
