/** The child process of proxy-process.ts: a round-trip proxy to the port in argv, answering over IPC. */
import { roundTripProxy } from '../test/redis.js';

const proxy = await roundTripProxy(Number(process.argv[2]));
process.send!({ port: proxy.port });
process.on('message', (message) => {
  if (message === 'count') process.send!({ roundTrips: proxy.roundTrips });
  else if (message === 'reset') {
    proxy.reset();
    process.send!({ reset: true });
  }
});
process.on('disconnect', () => void proxy.close().then(() => process.exit(0)));
