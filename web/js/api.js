// The JSON API as the page calls it: the bearer token on every request,
// errors turned into ApiError with the body's code, message and field.

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || code);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
}

function url(path, params) {
  const u = new URL(path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== '' && value !== null && value !== undefined && value !== false) {
      u.searchParams.set(key, String(value));
    }
  }
  return u;
}

async function parse(res) {
  const text = await res.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const e = (body && body.error) || {};
    throw new ApiError(res.status, e.code || `http_${res.status}`, e.message || res.statusText, e.field);
  }
  if (body === null) throw new ApiError(res.status, 'invalid_json', 'The answer was not JSON', null);
  return body;
}

// token() returns the current token, or null for the public endpoints.
export function createApi(token) {
  async function request(method, path, { params, body } = {}) {
    const headers = { Accept: 'application/json' };
    const secret = token();
    if (secret) headers.Authorization = `Bearer ${secret}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res;
    try {
      res = await fetch(url(path, params), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: 'no-store',
        credentials: 'omit',
      });
    } catch {
      throw new ApiError(0, 'network', '', null);
    }
    return parse(res);
  }
  return {
    get: (path, params) => request('GET', path, { params }),
    post: (path, body) => request('POST', path, { body }),
  };
}
