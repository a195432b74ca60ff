/**
 * Calls to the admin API checked against its OpenAPI document: the answer's status must be one the operation
 * documents, and its body must validate (Ajv, JSON Schema 2020-12 as OAS 3.1 uses it) against the documented schema.
 */
import assert from 'node:assert/strict';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { adminOpenApi } from '../../src/admin/openapi/document.ts';
import { client, type Reply, type TestServer } from './server.ts';

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

export function documentedAdmin(server: TestServer, token = server.adminToken) {
  const doc = adminOpenApi().doc as any;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);
  ajv.addSchema(doc, 'admin-openapi');
  const http = client(server, token);
  /** Which (method template status) pairs the test saw, to report coverage. */
  const seen = new Set<string>();

  async function call(method: string, template: string, params: Record<string, string> = {}, body?: unknown, query = ''): Promise<Reply> {
    const operation = doc.paths[template]?.[method.toLowerCase()];
    assert.ok(operation, `${method} ${template} is not in the document`);
    const path = template.replace(/\{(\w+)\}/g, (_, k: string) => encodeURIComponent(params[k] ?? assert.fail(`no value for {${k}}`)));
    const r = await http.call(method, `${server.url}/admin/v1${path}${query}`, body, body !== undefined ? { 'Content-Type': 'application/json' } : {});
    const status = String(r.status);
    assert.ok(operation.responses[status], `${method} ${template} answered ${status}, which the document does not list: ${r.text.slice(0, 300)}`);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/, `${method} ${template} ${status}`);
    const validate = ajv.getSchema(`admin-openapi#/${pointer('paths', template, method.toLowerCase(), 'responses', status, 'content', 'application/json', 'schema')}`);
    assert.ok(validate, `no schema for ${method} ${template} ${status}`);
    assert.ok(validate(r.body), `${method} ${template} ${status} does not match the document: ${ajv.errorsText(validate.errors)}\n${r.text.slice(0, 500)}`);
    seen.add(`${method.toUpperCase()} ${template} ${status}`);
    return r;
  }
  return { call, seen, doc };
}
