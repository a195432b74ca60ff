// Runs the fake Mattermost in its own process (for the benchmark): prints {"url","adminToken","userToken"} as one
// JSON line on stdout once it listens. Options: --port N, --rate-limit perSec,burst.
import { parseArgs } from 'node:util';
import { startFakeMattermost } from './index.ts';

const { values } = parseArgs({ options: { port: { type: 'string' }, 'rate-limit': { type: 'string' }, version: { type: 'string' } } });
const port = values.port === undefined ? 0 : Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  process.stderr.write(`--port must be 0..65535, got ${values.port}\n`);
  process.exit(2);
}
let rate: { perSec: number; burst: number } | null = null;
if (values['rate-limit'] !== undefined) {
  const [perSec, burst] = values['rate-limit'].split(',').map(Number);
  if (!(perSec > 0) || !Number.isInteger(burst) || burst < 0) {
    process.stderr.write(`--rate-limit must be perSec,burst (e.g. 10,100), got ${values['rate-limit']}\n`);
    process.exit(2);
  }
  rate = { perSec, burst };
}
const fake = await startFakeMattermost({ port, version: values.version });
fake.faults.rateLimit(rate);
process.stdout.write(`${JSON.stringify({ url: fake.url, adminToken: fake.adminToken, userToken: fake.userToken })}\n`);
const stop = () => void fake.close().then(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
