/**
 * The baseline: a bare express 5 server that parses the same JSON bodies as the SCIM router (express.json with the
 * same content types) and answers every request with a fixed JSON body. Its throughput is the limit of node, express
 * and the loopback network stack on this machine, the denominator of every ratio the bench prints.
 */
import express from 'express';

const FIXED = JSON.stringify({
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
  id: '2819c223-7f76-453a-919d-413861904646',
  userName: 'bjensen@example.com',
  active: true,
  meta: { resourceType: 'User', version: 'W/"1"' },
});

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ type: ['application/json', 'application/scim+json', 'application/*+json'], limit: 10 * 1024 * 1024, strict: false }));
app.use((req, res) => {
  const status = req.method === 'POST' ? 201 : req.method === 'PATCH' && req.path.startsWith('/scim/v2/Groups') ? 204 : 200;
  res.status(status).type('application/scim+json');
  if (status === 204) res.end();
  else res.send(FIXED);
});
const server = app.listen(Number(process.env.PORT ?? 0), process.env.HOST ?? '127.0.0.1');
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
});
