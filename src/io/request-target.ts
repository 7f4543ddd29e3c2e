/**
 * The request target of an HTTP/1.1 request (RFC 9112 §3.2), read the way the spec says,
 * never as a URL relative to some base.
 *
 * Why not `new URL(target, base)`: a URL parser reads `//evil.example/runinfo` as a
 * scheme-relative reference, host `evil.example`, path `/runinfo`, so a handler would
 * route a request for the path `//evil.example/runinfo` as `/runinfo`, past any rule a
 * proxy in front applied to the raw path. It also removes dot segments (`/a/../b` becomes
 * `/b`) and turns `\` into `/`, and it routes an unparseable target to `/`. Here:
 *
 * - origin-form (`/path?query`, what clients send to a server): the path is everything
 *   before the first `?`, exactly as sent (percent-encoded, dot segments kept), the query
 *   everything after it;
 * - absolute-form (`http://host/path?query`, what clients send to a proxy; a server must
 *   accept it, RFC 9112 §3.2.2): only the `http` and `https` schemes, with an authority
 *   the URL parser accepts; the path and query are taken from the target as sent, an empty
 *   path is `/`, and the authority replaces the Host header;
 * - asterisk-form (`*`): only with `OPTIONS`;
 * - anything else, a fragment (`#`), or a `%` not followed by two hex digits in the path,
 *   is a bad request (400). Node's parser has already refused what is not HTTP at all
 *   (spaces, control characters, bytes outside ASCII, authority-form outside CONNECT).
 *
 * @module
 */

/** A request target that was read: its form, its path and its query, as sent. */
export interface RequestTarget {
  readonly form: 'origin' | 'absolute' | 'asterisk';
  /** The path as sent (`//a/b` stays `//a/b`); `*` for the asterisk-form. */
  readonly path: string;
  /** What follows the first `?`, without it; `''` when there is none. */
  readonly query: string;
  /** The authority of an absolute-form target (`host:port`), or null. */
  readonly authority: string | null;
}

/** Why a target cannot be read, in a sentence for the 400 answer. */
export interface BadTarget {
  readonly bad: string;
}

/** Whether every `%` in `text` starts a `%HH` escape. */
function escapesValid(text: string): boolean {
  for (let i = text.indexOf('%'); i !== -1; i = text.indexOf('%', i + 1)) {
    if (!isHex(text.charCodeAt(i + 1)) || !isHex(text.charCodeAt(i + 2))) return false;
  }
  return true;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** Split `rest` (starting with `/`, or empty) into path and query, checking the path. */
function pathAndQuery(rest: string): { path: string; query: string } | BadTarget {
  if (rest.includes('#')) return { bad: 'a request target has no fragment (#...)' };
  const q = rest.indexOf('?');
  const path = q === -1 ? rest : rest.slice(0, q);
  const query = q === -1 ? '' : rest.slice(q + 1);
  if (path.charCodeAt(0) !== 0x2f && path !== '') return { bad: 'the path must start with /' };
  if (path.includes('%') && !escapesValid(path)) return { bad: 'the path has a % that is not followed by two hex digits' };
  return { path: path === '' ? '/' : path, query };
}

/**
 * Read the request target `target` of a request with `method`, or say why it cannot be
 * read (the server answers 400).
 */
export function parseRequestTarget(method: string, target: string): RequestTarget | BadTarget {
  const first = target.charCodeAt(0);
  if (first === 0x2f) {
    // origin-form: the fast and usual case. One pass over the target finds the first `?`
    // and any `#` or `%` (three calls of `includes`/`indexOf` cost more on short paths).
    let q = -1;
    let plain = true;
    for (let i = 1; i < target.length; i++) {
      const c = target.charCodeAt(i);
      if (c === 0x23 || c === 0x25) {
        plain = false;
        break;
      }
      if (c === 0x3f && q === -1) q = i;
    }
    if (plain) {
      return q === -1
        ? { form: 'origin', path: target, query: '', authority: null }
        : { form: 'origin', path: target.slice(0, q), query: target.slice(q + 1), authority: null };
    }
    const split = pathAndQuery(target);
    if ('bad' in split) return split;
    return { form: 'origin', path: split.path, query: split.query, authority: null };
  }
  if (target === '*') {
    if (method !== 'OPTIONS') return { bad: `the target * is only for OPTIONS, not ${method}` };
    return { form: 'asterisk', path: '*', query: '', authority: null };
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(target);
  if (scheme !== null) {
    const name = (scheme[1] as string).toLowerCase();
    if (name !== 'http' && name !== 'https') return { bad: `an absolute target must be http or https, not ${name}` };
    const afterScheme = scheme[0].length;
    let end = afterScheme;
    while (end < target.length && target[end] !== '/' && target[end] !== '?' && target[end] !== '#') end++;
    const authority = target.slice(afterScheme, end);
    if (authority === '' || authority.includes('@')) return { bad: 'an absolute target needs a host (and no user info)' };
    try {
      new URL(`${name}://${authority}/`);
    } catch {
      return { bad: `the host of the target cannot be parsed: ${authority.slice(0, 100)}` };
    }
    const split = pathAndQuery(target.slice(end));
    if ('bad' in split) return split;
    return { form: 'absolute', path: split.path, query: split.query, authority };
  }
  return { bad: 'the target must be a path (/...), an absolute http(s) URL, or * for OPTIONS' };
}
