/**
 * The example's database: embedded PGlite by default, PostgreSQL through `pg` when DATABASE_URL is
 * set. Both sit behind one `query` function so the rest of the example does not care which.
 */
export interface Database {
  query<Row>(sql: string, params?: unknown[]): Promise<Row[]>;
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
  readonly kind: 'pglite' | 'postgres';
}

export async function openDatabase(url = process.env.DATABASE_URL): Promise<Database> {
  if (url) {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: url, max: 10 });
    return {
      kind: 'postgres',
      query: async <Row>(sql: string, params: unknown[] = []) =>
        (await pool.query(sql, params)).rows as Row[],
      exec: async (sql: string) => {
        await pool.query(sql);
      },
      close: () => pool.end(),
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite();
  await db.waitReady;
  return {
    kind: 'pglite',
    query: async <Row>(sql: string, params: unknown[] = []) => (await db.query<Row>(sql, params)).rows,
    exec: async (sql: string) => {
      await db.exec(sql);
    },
    close: () => db.close(),
  };
}

/** A per-operation view of the database that counts the statements it runs. */
export interface CountingDatabase {
  query<Row>(sql: string, params?: unknown[]): Promise<Row[]>;
  readonly statements: number;
}

export function countStatements(db: Database): CountingDatabase {
  let statements = 0;
  return {
    query: <Row>(sql: string, params?: unknown[]) => {
      statements++;
      return db.query<Row>(sql, params);
    },
    get statements() {
      return statements;
    },
  };
}
