// The daemon's /api/v1, over fetch: the session cookie goes along (same origin), every
// change carries the CSRF token the session login answered with, and a refusal
// becomes an ApiError with the daemon's message and the field it names.

export class ApiError extends Error {
  constructor(status, message, field = null) {
    super(message)
    this.name = 'ApiError'
    /** The HTTP status; 0 when the daemon could not be reached. */
    this.status = status
    /** The request field the daemon refused, if it named one. */
    this.field = field
  }
}

let csrfToken = null

export function setCsrf(token) {
  csrfToken = token || null
}

export function csrf() {
  return csrfToken
}

const CHANGES = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/** One request; resolves to the JSON answer (or null), rejects with an ApiError. */
export async function request(method, path, body, options = {}) {
  const fetchImpl = options.fetch ?? globalThis.fetch
  const headers = { Accept: 'application/json' }
  const init = { method, headers, credentials: 'same-origin' }
  if (CHANGES.has(method)) {
    headers['Content-Type'] = 'application/json'
    if (csrfToken) headers['X-CSRF-Token'] = csrfToken
    if (body !== undefined) init.body = JSON.stringify(body)
    else if (method === 'POST') init.body = '{}'
  }
  let res
  try {
    res = await fetchImpl(path, init)
  } catch (e) {
    throw new ApiError(0, e?.message ?? String(e))
  }
  const text = await res.text()
  let data = null
  if (text) {
    try {
      data = JSON.parse(text)
    } catch {
      data = null
    }
  }
  if (!res.ok) {
    const message = (data && typeof data.error === 'string' && data.error) || text || res.statusText
    throw new ApiError(res.status, message, (data && data.field) || null)
  }
  return data
}

export const api = {
  get: (path, options) => request('GET', path, undefined, options),
  post: (path, body, options) => request('POST', path, body, options),
  put: (path, body, options) => request('PUT', path, body, options),
  patch: (path, body, options) => request('PATCH', path, body, options),
  del: (path, options) => request('DELETE', path, undefined, options),
}

/**
 * The words for an error: the field it names (translated when the app knows it),
 * the daemon's message, or why the daemon could not be reached. `i18n` is a
 * composer (`t`, `te`).
 */
export function errorText(err, i18n) {
  const { t, te } = i18n
  if (!(err instanceof ApiError)) return String(err?.message ?? err)
  if (err.status === 0) return t('errors.network', { message: err.message })
  if (err.field) {
    const key = `fields.${err.field}`
    const field = te(key) ? t(key) : err.field
    return t('errors.field', { field, message: err.message })
  }
  return t('errors.status', { status: err.status, message: err.message })
}

export const agentPath = (agent, rest = '') =>
  `/api/v1/agents/${encodeURIComponent(agent)}${rest}`
