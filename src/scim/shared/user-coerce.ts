/**
 * The inbound coercion of a User body (RFC 7643 §2.1-§2.4 and §4.1), without SCIMMY's cost where it is not needed.
 *
 * `new SCIMMY.Schemas.User(body, 'in')` builds property descriptors and proxies for every attribute and value: about
 * 0.4 ms of a create's 3 ms on the bench machine (`npm run bench -- --profile`). The bodies identity providers send
 * are plain: every key a declared attribute in its declared case, every value of its declared type, no nulls.
 * `coerceUserIn` builds, for such a body, the JSON SCIMMY's coercion yields, walking SCIMMY's own definition of the
 * User schema and its extensions (so `declareUsers`' changes to it apply here too). Anything it is not sure of (a key
 * in another case, a namespaced key, a null, a reference, a read-only attribute, a value SCIMMY would refuse) makes it
 * answer `undefined`, and SCIMMY coerces or refuses the body with its own message. test/unit/user-coerce.test.ts
 * compares the two on generated bodies.
 */
import SCIMMY from 'scimmy';

type Json = Record<string, any>;

/** The parts of a SCIMMY attribute definition read here. */
interface AttributeDef {
  name: string;
  type: string;
  subAttributes?: AttributeDef[];
  config: { direction: string; returned: boolean | string; multiValued: boolean; required: boolean; canonicalValues: false | string[] };
}
interface SchemaDef { id: string; required?: boolean; attributes: (AttributeDef | SchemaDef)[] }

const isSchema = (a: AttributeDef | SchemaDef): a is SchemaDef => 'id' in a && Array.isArray((a as SchemaDef).attributes);
const isPlain = (v: unknown): v is Json => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;
const inbound = (a: AttributeDef) => a.config.direction === 'both' || a.config.direction === 'in';

/** Not sure: let SCIMMY decide. */
const UNSURE = Symbol('unsure');
type Out = unknown | typeof UNSURE;

function simple(a: AttributeDef, v: unknown): Out {
  if (a.config.multiValued) return UNSURE;
  const cv = a.config.canonicalValues;
  if (Array.isArray(cv) && !cv.includes(v as string)) return UNSURE;
  if (a.type === 'string') return typeof v === 'string' ? v : UNSURE;
  if (a.type === 'boolean') return typeof v === 'boolean' ? v : UNSURE;
  return UNSURE; // reference, dateTime, binary, numbers: SCIMMY's own checks
}

/**
 * A complex value: its sub-attributes in definition order, as SCIMMY's complex values serialise. A sub-attribute is
 * never complex itself (RFC 7643 §2.3.8), so the walk of a schema's attributes serves.
 */
function complexValue(a: AttributeDef, v: unknown): Out {
  return isPlain(v) ? schemaValue(a.subAttributes ?? [], v, NOTHING) : UNSURE;
}

function attributeValue(a: AttributeDef, v: unknown): Out {
  if (v === null || v === undefined) return UNSURE;
  if (a.type !== 'complex') return simple(a, v);
  if (!a.config.multiValued) return complexValue(a, v);
  if (!Array.isArray(v)) return UNSURE;
  const out: unknown[] = [];
  for (const item of v) {
    const c = complexValue(a, item);
    if (c === UNSURE) return UNSURE;
    out.push(c);
  }
  return out;
}

/** The attributes of one schema (core or extension) found in `source`, in definition order; UNSURE as soon as one is. */
function schemaValue(attrs: readonly AttributeDef[], source: Json, skip: ReadonlySet<string>): Json | typeof UNSURE {
  for (const k of Object.keys(source)) {
    if (skip.has(k)) continue;
    const a = attrs.find((x) => x.name === k);
    if (!a || !inbound(a) || a.config.returned === false || a.config.returned === 'never') return UNSURE;
  }
  const out: Json = {};
  for (const a of attrs) {
    if (skip.has(a.name) || !inbound(a)) continue;
    if (!(a.name in source)) {
      if (a.config.required) return UNSURE;
      continue;
    }
    const c = attributeValue(a, source[a.name]);
    if (c === UNSURE) return UNSURE;
    out[a.name] = c;
  }
  return out;
}

const NOTHING: ReadonlySet<string> = new Set();
let meta: Json | undefined;

/**
 * A User body as SCIMMY's inbound coercion would give it (JSON: key order included), or undefined when SCIMMY must
 * decide (it may then accept the body too, or refuse it).
 */
export function coerceUserIn(body: unknown): Json | undefined {
  if (!isPlain(body) || 'meta' in body || 'id' in body) return undefined;
  const def = (SCIMMY.Schemas.User as any).definition as SchemaDef;
  const core = def.attributes.filter((a): a is AttributeDef => !isSchema(a));
  const extensions = def.attributes.filter(isSchema);
  const listed = body.schemas;
  if (listed !== undefined && !(Array.isArray(listed) && listed.every((s) => typeof s === 'string' && (s === def.id || extensions.some((e) => e.id === s))))) return undefined;
  // SCIMMY's Schema refuses a `schemas` list without the resource's own schema (400 invalidSyntax).
  if (listed?.length && !listed.includes(def.id)) return undefined;

  // What SCIMMY's SchemaDefinition.coerce lists: the core id, the extensions the body has values for, then the body's.
  const present = extensions.filter((e) => e.id in body);
  for (const k of Object.keys(body)) if (k.includes(':') && !present.some((e) => e.id === k)) return undefined;
  const ext = new Set(present.map((e) => e.id));
  const coreOut = schemaValue(core, body, new Set(['schemas', 'meta', ...ext]));
  if (coreOut === UNSURE) return undefined;

  meta ??= JSON.parse(JSON.stringify(new SCIMMY.Schemas.User({ userName: 'x' }, 'in'))).meta as Json;
  const out: Json = {};
  for (const a of core) {
    if (a.name === 'schemas') out.schemas = [...new Set([def.id, ...present.map((e) => e.id), ...(listed ?? [])])];
    else if (a.name === 'meta') out.meta = { ...meta };
    else if (a.name in coreOut) out[a.name] = coreOut[a.name];
  }
  for (const e of extensions) {
    const v = body[e.id];
    if (v === undefined) {
      if (e.required) return undefined;
      continue;
    }
    if (!isPlain(v) || e.attributes.some(isSchema)) return undefined;
    if (Object.keys(v).length === 0) {
      if (e.required) return undefined;
      continue;
    }
    const c = schemaValue(e.attributes as AttributeDef[], v, NOTHING);
    if (c === UNSURE) return undefined;
    out[e.id] = c;
  }
  return out;
}
