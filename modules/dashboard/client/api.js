// The page's calls to the dashboard's JSON API. Requests that change something carry the header
// the server requires of the page (a cross-site form cannot send it).

export class ApiError extends Error {
  /** @param {number} status @param {string} message @param {string[]} [errors] */
  constructor(status, message, errors = []) {
    super(message);
    this.status = status;
    this.errors = errors;
  }
}

/** @param {string} id */
export const inst = (id) => `/api/instances/${encodeURIComponent(id)}`;
/** @param {string} node */
export const remoteNode = (node) => `/api/nodes/${encodeURIComponent(node)}`;

/** @param {Response} res */
async function answer(res) {
  const type = res.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await res.json() : await res.text();
  if (res.ok) return body;
  if (body && typeof body === 'object') {
    if (Array.isArray(body.errors)) throw new ApiError(res.status, body.errors.join('\n'), body.errors);
    if (body.error) throw new ApiError(res.status, `${body.error.code}: ${body.error.message}`);
  }
  throw new ApiError(res.status, typeof body === 'string' && body ? body : `HTTP ${res.status}`);
}

/** @param {string} url */
export async function getJson(url) {
  return answer(await fetch(url, { credentials: 'same-origin' }));
}

/** @param {string} url */
export async function getText(url) {
  const res = await fetch(url, { credentials: 'same-origin' });
  if (!res.ok) return answer(res);
  return res.text();
}

/** @param {string} url @param {unknown} [body] */
export async function post(url, body = {}) {
  return answer(await fetch(url, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'content-type': 'application/json', 'x-cheshire-dashboard': '1' },
    body: JSON.stringify(body),
  }));
}
