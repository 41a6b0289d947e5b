// The console's only way to the server: the public HTTP API under /api/v1, with the session
// cookie (HttpOnly, set by POST /api/v1/login) and the CSRF token echoed in X-CSRF-Token on every
// state-changing request. A 401 anywhere sends the page back to the login form.
const CSRF_KEY = 'asyncd.csrf';
let unauthorized = () => {};

export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body;
  }
}

export function onUnauthorized(fn) { unauthorized = fn; }
export function setCsrf(token) {
  if (token) sessionStorage.setItem(CSRF_KEY, token);
  else sessionStorage.removeItem(CSRF_KEY);
}
export function hasCsrf() { return !!sessionStorage.getItem(CSRF_KEY); }

// One request. body: a JS value (sent as JSON) or a Blob/File (sent as octet-stream).
// Answers the parsed JSON (or text for text/plain, null for 204); throws ApiError otherwise.
export async function api(method, path, body, { quiet401 = false } = {}) {
  const headers = {};
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (method !== 'GET' && method !== 'HEAD') {
    headers['X-CSRF-Token'] = sessionStorage.getItem(CSRF_KEY) || '';
  }
  if (body instanceof Blob) {
    headers['Content-Type'] = 'application/octet-stream';
    init.body = body;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, 'network', `the server does not answer (${e.message})`, null);
  }
  const type = res.headers.get('Content-Type') || '';
  let data = null;
  if (res.status !== 204 && res.status !== 304) {
    data = type.startsWith('application/json') ? await res.json().catch(() => null)
                                                : await res.text();
  }
  if (res.ok) return data;
  const err = data && data.error ? data.error : {};
  if (res.status === 401 && !quiet401) unauthorized(err.message || 'log in again');
  throw new ApiError(res.status, err.code || String(res.status),
                     err.message || `${method} ${path} answered ${res.status}`, data);
}

// A GET that answers null when the endpoint does not exist on this server (404 no such
// endpoint), so a page can say which feature needs a newer server.
export async function apiOptional(path) {
  try {
    return await api('GET', path);
  } catch (e) {
    if (e.status === 404 || e.status === 405) return null;
    throw e;
  }
}

// The Prometheus text of /metrics as {name: value} (the first sample of each name without
// labels) and a list of labelled samples.
export function parseMetrics(text) {
  const plain = {};
  const labelled = [];
  for (const line of String(text).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/);
    if (!m) continue;
    const value = Number(m[4]);
    if (!m[3]) {
      if (!(m[1] in plain)) plain[m[1]] = value;
      continue;
    }
    const labels = {};
    for (const kv of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[kv[1]] = kv[2];
    labelled.push({ name: m[1], labels, value });
  }
  return { plain, labelled };
}
