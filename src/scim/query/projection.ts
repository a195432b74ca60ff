/**
 * `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) applied to a resource we built ourselves.
 * SCIMMY can do this, but only by coercing the whole resource into its proxied schema objects first, which was most
 * of the CPU of a user lookup (docs/benchmarks.md); this is a plain walk over the JSON.
 * `id` and `schemas` are always returned; `schemas` names only the schemas whose attributes are present (RFC 7643 §3).
 */
type Json = Record<string, any>;

const CORE_PREFIX = /^urn:ietf:params:scim:schemas:core:2\.0:(user|group):/i;

interface AttrPath { ext?: string; attr?: string; sub?: string }

export interface Projection { include?: AttrPath[]; exclude?: AttrPath[] }

/** Parse one comma-separated list against the resource's extension URNs (which contain dots and colons). */
function parseList(list: string, extensions: string[]): AttrPath[] {
  const out: AttrPath[] = [];
  for (const raw of list.split(',')) {
    const item = raw.trim().replace(CORE_PREFIX, '');
    if (!item) continue;
    const ext = extensions.find((e) => item.toLowerCase() === e.toLowerCase() || item.toLowerCase().startsWith(`${e.toLowerCase()}:`));
    const rest = ext ? item.slice(ext.length + 1) : item;
    const [attr, sub] = rest ? rest.split('.', 2) : [undefined, undefined];
    out.push({ ...(ext ? { ext } : {}), ...(attr ? { attr } : {}), ...(sub ? { sub } : {}) });
  }
  return out;
}

export function projectionFrom(query: Record<string, unknown>, extensions: string[]): Projection {
  const a = query.attributes;
  const x = query.excludedAttributes;
  if (typeof a === 'string' && a.trim()) return { include: parseList(a, extensions) };
  if (typeof x === 'string' && x.trim()) return { exclude: parseList(x, extensions) };
  return {};
}

const keyOf = (o: Json, name: string): string | undefined => Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());

/** Copy `attr[.sub]` of `from` into `to`, merging sub-attributes picked one by one (name.givenName,name.familyName). */
function pick(from: Json, to: Json, attr: string, sub?: string): void {
  const key = keyOf(from, attr);
  if (key === undefined || key === 'schemas') return;
  const value = from[key];
  if (!sub || value === null || typeof value !== 'object') {
    to[key] = value;
    return;
  }
  if (Array.isArray(value)) {
    const prev: Json[] = Array.isArray(to[key]) ? to[key] : value.map(() => ({}));
    value.forEach((item, i) => {
      const k = item && typeof item === 'object' ? keyOf(item, sub) : undefined;
      if (k !== undefined) prev[i] = { ...prev[i], [k]: item[k] };
    });
    to[key] = prev.filter((v) => Object.keys(v).length);
    return;
  }
  const k = keyOf(value, sub);
  if (k !== undefined) to[key] = { ...(typeof to[key] === 'object' ? to[key] : {}), [k]: value[k] };
}

function drop(target: Json, attr: string, sub?: string): void {
  const key = keyOf(target, attr);
  if (key === undefined || key === 'id' || key === 'schemas') return;
  if (!sub) {
    delete target[key];
    return;
  }
  const value = target[key];
  if (Array.isArray(value)) {
    target[key] = value.map((item) => {
      const copy = { ...item };
      const k = keyOf(copy, sub);
      if (k !== undefined) delete copy[k];
      return copy;
    });
  } else if (value && typeof value === 'object') {
    const copy = { ...value };
    const k = keyOf(copy, sub);
    if (k !== undefined) delete copy[k];
    target[key] = copy;
  }
}

export function project(resource: Json, p: Projection): Json {
  let out: Json;
  if (p.include) {
    out = { id: resource.id };
    for (const path of p.include) {
      if (path.ext) {
        const ext = resource[path.ext];
        if (!ext) continue;
        if (!path.attr) out[path.ext] = ext;
        else pick(ext, (out[path.ext] ??= {}), path.attr, path.sub);
        if (out[path.ext] && !Object.keys(out[path.ext]).length) delete out[path.ext];
      } else if (path.attr) {
        pick(resource, out, path.attr, path.sub);
      }
    }
  } else if (p.exclude) {
    out = { ...resource };
    for (const path of p.exclude) {
      if (path.ext) {
        if (!path.attr) delete out[path.ext];
        else if (out[path.ext]) {
          out[path.ext] = { ...out[path.ext] };
          drop(out[path.ext], path.attr, path.sub);
          if (!Object.keys(out[path.ext]).length) delete out[path.ext];
        }
      } else if (path.attr) {
        drop(out, path.attr, path.sub);
      }
    }
  } else {
    return resource;
  }
  const schemas = (resource.schemas as string[]).filter((s, i) => i === 0 || s in out);
  const { id: _id, ...rest } = out;
  return { schemas, id: resource.id, ...rest };
}
