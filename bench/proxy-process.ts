/**
 * The round-trip-counting proxy of test/redis.ts in a child process of its own, so that forwarding
 * bytes never waits on the benchmark's busy event loop (in process, every round trip would pay for
 * the hops). `startProxyProcess(target)` resolves with its port; `roundTrips()` asks it for its count.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';

type Reply = { port: number } | { roundTrips: number } | { reset: true };

export async function startProxyProcess(target: number): Promise<{
  readonly port: number;
  roundTrips(): Promise<number>;
  reset(): Promise<void>;
  close(): Promise<void>;
}> {
  const child = fork(fileURLToPath(new URL('./proxy-child.ts', import.meta.url)), [String(target)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const ask = <T extends Reply>(message: string | null): Promise<T> =>
    new Promise((resolve) => {
      child.once('message', (reply) => resolve(reply as T));
      if (message !== null) child.send(message);
    });
  const { port } = await ask<{ port: number }>(null);
  return {
    port,
    roundTrips: async () => (await ask<{ roundTrips: number }>('count')).roundTrips,
    reset: async () => void (await ask<{ reset: true }>('reset')),
    close: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill();
      }),
  };
}
