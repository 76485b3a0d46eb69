/**
 * The example server as a process (examples/yoga-server/main.ts, PORT=0), for tests that run several:
 * started with an environment of their own, stopped with SIGTERM (SIGKILL after 3 s), and killed at
 * exit whatever happens.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export interface Example {
  readonly child: ChildProcess;
  /** The GraphQL endpoint it printed. */
  readonly url: string;
  /** Everything it printed so far (stdout and stderr). */
  output(): string;
}

export const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** Spawns the example (PORT=0) and resolves once it printed its URL. */
export function startExample(env: Record<string, string | undefined>): Promise<Example> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'examples/yoga-server/main.ts'], {
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', ...env, PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the example did not start:\n${output}`)), 30_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /GraphiQL: (http:\/\/\S+)/.exec(output);
      if (match === null) return;
      clearTimeout(timer);
      resolve({ child, url: match[1]!.replace('localhost', '127.0.0.1'), output: () => output });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the example exited with ${code}:\n${output}`));
    });
  });
}

/** SIGTERM (the example closes its Redis client and server), SIGKILL if it is not gone within 3 s. */
export function stopExample(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
