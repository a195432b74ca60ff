/**
 * Another SCIM server to point the suites at: plain SCIMMY + scimmy-routers with in-memory handlers, written the way
 * SCIMMY's README suggests and with none of this project's fixes. Used to show the suites report other servers
 * honestly (see conformance/README.md, "Against another server"). Not part of the product.
 *
 *   PORT=18090 TOKEN=othertoken-0123456789 npx tsx conformance/examples/scimmy-memory-server.ts
 */
import express from 'express';
import SCIMMY from 'scimmy';
import SCIMMYRouters from 'scimmy-routers';
import { randomUUID } from 'node:crypto';

const token = process.env.TOKEN ?? 'othertoken-0123456789';
const stores: Record<string, Map<string, any>> = { User: new Map(), Group: new Map() };

for (const [R, name] of [[SCIMMY.Resources.User, 'User'], [SCIMMY.Resources.Group, 'Group']] as const) {
  const store = stores[name]!;
  SCIMMY.Resources.declare(R as any)
    .egress((resource: any) => {
      if (resource.id) {
        const found = store.get(resource.id);
        if (!found) throw new SCIMMY.Types.Error(404, null as any, `${name} ${resource.id} not found`);
        return found;
      }
      const all = [...store.values()];
      return resource.filter ? resource.filter.match(all) : all;
    })
    .ingress((resource: any, instance: any) => {
      const now = new Date().toISOString();
      const id = resource.id ?? randomUUID();
      if (resource.id && !store.has(id)) throw new SCIMMY.Types.Error(404, null as any, `${name} ${id} not found`);
      const prev = store.get(id);
      const next = { ...JSON.parse(JSON.stringify(instance)), id, meta: { created: prev?.meta.created ?? now, lastModified: now } };
      store.set(id, next);
      return next;
    })
    .degress((resource: any) => {
      if (!store.delete(resource.id)) throw new SCIMMY.Types.Error(404, null as any, `${name} ${resource.id} not found`);
    });
}

const app = express();
app.use('/scim/v2', new SCIMMYRouters({
  type: 'bearer',
  handler: (req: express.Request) => {
    if (req.headers.authorization !== `Bearer ${token}`) throw new Error('unauthorized');
    return 'admin';
  },
  baseUri: () => `http://127.0.0.1:${process.env.PORT ?? 18090}`,
}) as any);
app.listen(Number(process.env.PORT ?? 18090), '127.0.0.1', () => console.log('listening'));
