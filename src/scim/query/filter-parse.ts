/**
 * Tokenizer and recursive-descent parser for the SCIM filter language
 * (RFC 7644 §3.4.2.2, ABNF in figure 1) and for bare attribute paths
 * (RFC 7644 §3.5.2 PATCH "path", §3.4.2.3 "sortBy").
 *
 * Grammar, by increasing precedence (RFC 7644 §3.4.2.2: "not" > "and" > "or"):
 *
 *   filter    = orExpr EOF
 *   orExpr    = andExpr *("or" andExpr)
 *   andExpr   = unary *("and" unary)
 *   unary     = "not" unary / primary
 *   primary   = "(" orExpr ")" / attrExpr
 *   attrExpr  = attrPath "pr"
 *             / attrPath compareOp compValue
 *             / attrPath "[" orExpr "]" [ "." subAttr ( "pr" / compareOp compValue ) ]
 *
 * Deviations, all on the lenient side because real IdPs send them:
 * - `not` may be applied to an attribute expression without parentheses
 *   (`not title pr`); it binds tighter than `and`.
 * - An unquoted token is accepted as a string value (`externalId eq jyoung`,
 *   shown in Microsoft's Entra ID provisioning docs).
 * - `emails[type eq "work"].value eq "x"` (PATCH path syntax) is accepted inside
 *   filters, with same-element semantics.
 * A bare word with no operator (`filter=JOHN`) stays an error: Okta's SCIM test
 * suite expects 400 for it.
 *
 * The parser never throws: every failure is returned as `{ ok: false, error }`,
 * which the HTTP layer maps to 400 invalidFilter (RFC 7644 §3.12).
 */
import type { AttrPath, CompareOp, FilterNode, FilterValue } from '../../store/filter-ast.js';
import { hasLoneSurrogate } from '../shared/body-checks.js';

export type ParseResult = { ok: true; filter: FilterNode } | { ok: false; error: string };
export type AttrPathResult =
  | { ok: true; path: AttrPath; filter?: FilterNode; sub?: string }
  | { ok: false; error: string };

/** Guards against pathological input; these are far above anything an IdP sends. */
export const MAX_FILTER_LENGTH = 4096;
export const MAX_NESTING_DEPTH = 50;
/**
 * Terms a filter may have: each comparison and presence test, inside `[...]` too, and each `attr[...]`. A term is
 * a predicate per row (an EXISTS per row for a multi-valued one), so this bounds a filter's cost before it runs:
 * 215 OR'd `emails co` terms fit in MAX_FILTER_LENGTH. IdPs send one or two (Entra, Okta), conformance suites a few.
 * PATCH paths are not filters run over rows (`members[value eq "a" or value eq "b"]` names members): only the
 * length limit applies to them.
 */
export const MAX_FILTER_TERMS = 50;

const COMPARE_OPS: ReadonlySet<string> = new Set(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);
const KEYWORDS: ReadonlySet<string> = new Set(['and', 'or', 'not']);
/** RFC 7643 §2.1 ATTRNAME = ALPHA *(nameChar); "$ref" is the one reserved exception (RFC 7643 §2.3.7). */
const ATTR_NAME = /^(?:[A-Za-z][A-Za-z0-9_-]*|\$ref)$/;
/** JSON number (RFC 8259 §6). */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

type TokenType = 'lparen' | 'rparen' | 'lbracket' | 'rbracket' | 'string' | 'word' | 'eof';
interface Token {
  type: TokenType;
  /** Source text of the token (for words: the word; for strings: the decoded value). */
  text: string;
  start: number;
  end: number;
}

/** Internal control flow only; never escapes this module. */
class FilterSyntaxError extends Error {}

function fail(message: string): never {
  throw new FilterSyntaxError(message);
}

function describe(tok: Token): string {
  switch (tok.type) {
    case 'eof':
      return 'end of filter';
    case 'string':
      return `string ${JSON.stringify(tok.text)} at position ${tok.start}`;
    default:
      return `"${tok.text}" at position ${tok.start}`;
  }
}

const PUNCTUATION: Record<string, TokenType> = { '(': 'lparen', ')': 'rparen', '[': 'lbracket', ']': 'rbracket' };

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (/\s/.test(ch)) {
      i++;
    } else if (ch in PUNCTUATION) {
      tokens.push({ type: PUNCTUATION[ch], text: ch, start: i, end: i + 1 });
      i++;
    } else if (ch === '"') {
      // Find the closing quote, skipping escaped characters, then let JSON.parse
      // decode the escapes: compValue strings are JSON strings (RFC 7644 §3.4.2.2).
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (j >= text.length) fail(`Unterminated string starting at position ${i}`);
      let value: unknown;
      try {
        value = JSON.parse(text.slice(i, j + 1));
      } catch {
        fail(`Invalid string literal at position ${i}`);
      }
      // `"\ud800"` decodes to a lone surrogate, which no stored value holds (src/scim/shared/body-checks.ts).
      if (hasLoneSurrogate(value)) fail(`String at position ${i} has a lone UTF-16 surrogate`);
      // `"\u0000"` decodes to a NUL: see checkInput.
      if ((value as string).includes('\u0000')) fail(`String at position ${i} has the NUL character (U+0000)`);
      tokens.push({ type: 'string', text: value as string, start: i, end: j + 1 });
      i = j + 1;
    } else {
      // A word runs until whitespace, punctuation or a quote. Words cover attribute
      // paths (including URNs with ':' and '.'), operators, keywords and bare values
      // such as `example.com` or `2015-10-10T14:38:21.8617979-07:00`.
      let j = i;
      while (j < text.length && !/[\s()[\]"]/.test(text[j])) j++;
      tokens.push({ type: 'word', text: text.slice(i, j), start: i, end: j });
      i = j;
    }
  }
  tokens.push({ type: 'eof', text: '', start: text.length, end: text.length });
  return tokens;
}

/**
 * Split `[urn:...:]attr[.sub]` (RFC 7644 §3.10 attribute notation). The schema URN
 * itself contains ':' and '.', e.g. `urn:ietf:params:scim:schemas:core:2.0:User`,
 * so the attribute starts after the *last* colon.
 */
function toAttrPath(text: string, at: number): AttrPath {
  const colon = text.lastIndexOf(':');
  const uri = colon >= 0 ? text.slice(0, colon) : undefined;
  const rest = colon >= 0 ? text.slice(colon + 1) : text;
  if (uri !== undefined && !/^urn:[^:]+(?::[^:]+)+$/i.test(uri)) {
    fail(`Invalid schema URN "${uri}" at position ${at}`);
  }
  const parts = rest.split('.');
  if (parts.length > 2 || !parts.every((p) => ATTR_NAME.test(p))) {
    fail(`Invalid attribute path "${text}" at position ${at}`);
  }
  return {
    ...(uri !== undefined && { uri }),
    attr: parts[0],
    ...(parts.length === 2 && { sub: parts[1] }),
  };
}

/** Interpret an unquoted value token: JSON literals first, otherwise a bare string. */
function bareValue(tok: Token): FilterValue {
  const lower = tok.text.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (lower === 'null') return null;
  if (KEYWORDS.has(lower)) fail(`Expected a value but found ${describe(tok)}`);
  if (JSON_NUMBER.test(tok.text)) {
    // An integer too large for a double (e.g. a 20-digit externalId) stays a
    // string, so string attributes compare the digits the client sent; numeric
    // attributes accept numeric strings anyway.
    const n = Number(tok.text);
    if (Number.isSafeInteger(n) || !/^-?\d+$/.test(tok.text)) return n;
  }
  return tok.text;
}

class Parser {
  private pos = 0;
  private depth = 0;
  /** True while parsing the filter inside `attr[...]`, where paths are sub-attributes. */
  private inValuePath = false;

  constructor(private readonly tokens: Token[]) {}

  private peek(): Token {
    return this.tokens[this.pos];
  }

  private next(): Token {
    const tok = this.tokens[this.pos];
    if (tok.type !== 'eof') this.pos++;
    return tok;
  }

  private expect(type: TokenType, what: string): Token {
    const tok = this.peek();
    if (tok.type !== type) fail(`Expected ${what} but found ${describe(tok)}`);
    return this.next();
  }

  private isKeyword(word: string): boolean {
    const tok = this.peek();
    return tok.type === 'word' && tok.text.toLowerCase() === word;
  }

  /** Run `body` one nesting level deeper (parentheses, brackets, `not`). */
  private nested<T>(body: () => T): T {
    if (++this.depth > MAX_NESTING_DEPTH) fail(`Filter is nested deeper than ${MAX_NESTING_DEPTH} levels`);
    const result = body();
    this.depth--;
    return result;
  }

  atBracket(): boolean {
    return this.peek().type === 'lbracket';
  }

  expectEnd(): void {
    const tok = this.peek();
    if (tok.type !== 'eof') fail(`Unexpected ${describe(tok)}`);
  }

  parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.isKeyword('or')) {
      this.next();
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parseUnary();
    while (this.isKeyword('and')) {
      this.next();
      left = { kind: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): FilterNode {
    if (this.isKeyword('not')) {
      this.next();
      // `not` takes exactly the following unary/primary; `not (a or b)` is
      // therefore NOT(a OR B), never (NOT a) OR b.
      return this.nested(() => ({ kind: 'not', expr: this.parseUnary() }));
    }
    return this.parsePrimary();
  }

  private parsePrimary(): FilterNode {
    const tok = this.peek();
    if (tok.type === 'lparen') {
      this.next();
      return this.nested(() => {
        const inner = this.parseOr();
        this.expect('rparen', '")"');
        return inner;
      });
    }
    if (tok.type === 'word' && !KEYWORDS.has(tok.text.toLowerCase())) return this.parseAttrExpr();
    return fail(`Expected an attribute path or "(" but found ${describe(tok)}`);
  }

  /** Reads an attribute path token; inside `[...]` only plain sub-attribute names are allowed. */
  parsePath(): AttrPath {
    const tok = this.expect('word', 'an attribute path');
    const path = toAttrPath(tok.text, tok.start);
    if (this.inValuePath && (path.uri !== undefined || path.sub !== undefined)) {
      fail(`Expected a sub-attribute name inside "[...]" but found ${describe(tok)}`);
    }
    return path;
  }

  /**
   * Parses `[filter]` after a path, plus an optional `.sub` that must touch the
   * closing bracket (`emails[type eq "work"].value`).
   */
  parseValueFilter(path: AttrPath): { filter: FilterNode; sub?: string } {
    if (this.inValuePath) fail(`Nested "[" at position ${this.peek().start} is not allowed`);
    if (path.sub !== undefined) fail(`"[" cannot follow the sub-attribute "${path.sub}"`);
    const open = this.expect('lbracket', '"["');
    const filter = this.nested(() => {
      this.inValuePath = true;
      const inner = this.parseOr();
      this.inValuePath = false;
      return inner;
    });
    const close = this.expect('rbracket', `"]" to close "[" at position ${open.start}`);
    const after = this.peek();
    if (after.type === 'word' && after.start === close.end && after.text.startsWith('.')) {
      this.next();
      const name = after.text.slice(1);
      if (!ATTR_NAME.test(name)) fail(`Invalid sub-attribute ${describe(after)}`);
      return { filter, sub: name };
    }
    return { filter };
  }

  private parseAttrExpr(): FilterNode {
    const path = this.parsePath();
    if (this.peek().type === 'lbracket') {
      const { filter, sub } = this.parseValueFilter(path);
      if (!sub) return { kind: 'valuePath', path, filter };
      // Same element: the sub-attribute condition joins the bracket filter.
      const tail = this.parseOperatorTail({ attr: sub });
      return { kind: 'valuePath', path, filter: { kind: 'and', left: filter, right: tail } };
    }
    return this.parseOperatorTail(path);
  }

  private parseOperatorTail(path: AttrPath): FilterNode {
    const tok = this.peek();
    const op = tok.type === 'word' ? tok.text.toLowerCase() : '';
    if (op === 'pr') {
      this.next();
      return { kind: 'present', path };
    }
    if (!COMPARE_OPS.has(op)) {
      const before = this.tokens[this.pos - 1];
      return fail(`Expected an operator after "${before.text}" but found ${describe(tok)}`);
    }
    this.next();
    return { kind: 'compare', path, op: op as CompareOp, value: this.parseValue(tok.text) };
  }

  private parseValue(op: string): FilterValue {
    const tok = this.peek();
    if (tok.type === 'string') {
      this.next();
      return tok.text;
    }
    if (tok.type === 'word') {
      this.next();
      return bareValue(tok);
    }
    return fail(`Expected a value after "${op}" but found ${describe(tok)}`);
  }
}

function checkInput(text: string): string | undefined {
  if (typeof text !== 'string') return 'Filter must be a string';
  if (text.length > MAX_FILTER_LENGTH) return `Filter is longer than ${MAX_FILTER_LENGTH} characters`;
  if (text.trim() === '') return 'Filter is empty';
  if (hasLoneSurrogate(text)) return 'Filter has a lone UTF-16 surrogate';
  // SQLite's LIKE stops reading its pattern at a NUL, so `co "\u0000"` became `%` and matched everyone; no stored
  // value holds a NUL (bodies with one are refused), so a filter with one can match nothing and is refused too.
  if (text.includes('\u0000')) return 'Filter must not contain the NUL character (U+0000)';
  return undefined;
}

/** Comparisons and presence tests (inside `[...]` too) plus value paths: the terms MAX_FILTER_TERMS bounds. */
export function countTerms(node: FilterNode): number {
  switch (node.kind) {
    case 'and':
    case 'or':
      return countTerms(node.left) + countTerms(node.right);
    case 'not':
      return countTerms(node.expr);
    case 'valuePath':
      return 1 + countTerms(node.filter);
    default:
      return 1;
  }
}

function checkTerms(filter: FilterNode): void {
  const n = countTerms(filter);
  if (n > MAX_FILTER_TERMS) fail(`Filter has ${n} terms; at most ${MAX_FILTER_TERMS} are allowed (each comparison, presence test and [...] counts)`);
}

function errorMessage(err: unknown): string {
  if (err instanceof FilterSyntaxError) return err.message;
  // A RangeError from a stack overflow cannot happen within the limits above, but
  // the contract is "never throws", so report anything unexpected as a parse error.
  return `Invalid filter: ${err instanceof Error ? err.message : String(err)}`;
}

/** Parse a filter expression (RFC 7644 §3.4.2.2). */
export function parseFilter(text: string): ParseResult {
  const bad = checkInput(text);
  if (bad) return { ok: false, error: bad };
  try {
    const parser = new Parser(tokenize(text));
    const filter = parser.parseOr();
    parser.expectEnd();
    checkTerms(filter);
    return { ok: true, filter };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  }
}

/**
 * Also parse a bare attribute path (used for sortBy and PATCH paths): 'name.givenName',
 * 'urn:...:enterprise:2.0:User:manager.value', 'emails[type eq "work"].value'
 * (RFC 7644 §3.5.2 "PATH" = attrPath / valuePath [subAttr]).
 *
 * For the bracket forms, `path` is the multi-valued attribute, `filter` the bracket
 * filter and `sub` the trailing sub-attribute; `path.sub` is then always undefined.
 * Note that a bare schema URN (a PATCH path naming a whole extension) is ambiguous
 * with `uri:attr`: 'urn:...:enterprise:2.0:User' parses as uri 'urn:...:enterprise:2.0',
 * attr 'User'; callers that accept it should compare the text with their schema ids first.
 */
export function parseAttrPath(text: string): AttrPathResult {
  const bad = checkInput(text);
  if (bad) return { ok: false, error: bad.replace('Filter', 'Attribute path') };
  try {
    const parser = new Parser(tokenize(text));
    const path = parser.parsePath();
    if (!parser.atBracket()) {
      parser.expectEnd();
      return { ok: true, path };
    }
    const { filter, sub } = parser.parseValueFilter(path);
    parser.expectEnd();
    return sub ? { ok: true, path, filter, sub } : { ok: true, path, filter };
  } catch (err) {
    return { ok: false, error: errorMessage(err) };
  }
}
