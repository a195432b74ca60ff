/**
 * Checks on request strings before anything stores or compares them.
 */

/** A UTF-16 surrogate not paired with its other half (a code point, not a pair, in a `u` regex). */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Whether a string anywhere in `v` (a key or a value, at any depth) holds a lone UTF-16 surrogate. JSON's `\ud800`
 * escape produces one, but it is no Unicode character (RFC 8259 §8.2) and has no UTF-8 form: both drivers store
 * U+FFFD in its place, so a 201 would echo a value that the stored one (and a later GET or `userName eq`) is not.
 * Such a string is refused with 400 instead.
 */
export function hasLoneSurrogate(v: unknown): boolean {
  const stack: unknown[] = [v];
  while (stack.length) {
    const node = stack.pop();
    if (typeof node === 'string') {
      if (LONE_SURROGATE.test(node)) return true;
    } else if (node && typeof node === 'object') {
      for (const [k, child] of Object.entries(node)) {
        if (LONE_SURROGATE.test(k)) return true;
        stack.push(child);
      }
    }
  }
  return false;
}
