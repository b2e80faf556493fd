// The JSON API client. Same origin, cookies sent; every non-2xx answer
// becomes a Problem (RFC 9457 problem+json) the views can explain.

export class Problem extends Error {
  constructor(status, body = {}, retryAfter = null) {
    super(body.detail || body.title || `request failed (${status})`);
    this.name = 'Problem';
    this.status = status;
    this.type = body.type || '';
    /** The stable slug after …/problems/, e.g. `invalid-credentials`. */
    this.slug = this.type.split('/').pop() || (status === 0 ? 'network' : `http-${status}`);
    this.title = body.title || '';
    this.detail = body.detail || '';
    this.field = body.field || null;
    this.reason = body.reason || null;
    this.retryAfter = retryAfter;
  }
}

async function request(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json, application/problem+json' } };
  if (method !== 'GET' && method !== 'DELETE') {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body ?? {});
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new Problem(0, { detail: 'network error' });
  }
  if (response.status === 204) return null;
  const type = response.headers.get('Content-Type') || '';
  const json = type.includes('json') ? await response.json().catch(() => ({})) : {};
  if (!response.ok) {
    const retry = Number(response.headers.get('Retry-After'));
    throw new Problem(response.status, json, Number.isFinite(retry) && retry > 0 ? retry : null);
  }
  return json;
}

export const api = {
  get: (path) => request('GET', path),
  post: (path, body) => request('POST', path, body),
  put: (path, body) => request('PUT', path, body),
  patch: (path, body) => request('PATCH', path, body),
  del: (path) => request('DELETE', path),
};

/** True when `err` is a Problem with one of these slugs. */
export function isProblem(err, ...slugs) {
  return err instanceof Problem && (slugs.length === 0 || slugs.includes(err.slug));
}
