// The lines pages' requests beyond api.js: a prompt upload (the file's bytes as the
// body, with its own content type and the session's CSRF token), a prompt's preview
// address, and the pickers' lists that belong to other areas (skill groups from
// /api/v1/groups, devices from /api/v1/devices): `null` when that route is not there
// (404) or not ours to read, so a page falls back to typing the id.
import { ApiError, api, csrf } from '../../api.js'

/** Where the audio of a prompt plays from; `v` changes after an upload. */
export function promptUrl(language, name, v = '') {
  const base = `/api/v1/prompts/${encodeURIComponent(language)}/${encodeURIComponent(name)}`
  return v ? `${base}?v=${encodeURIComponent(v)}` : base
}

/** Uploads `file` (a File or Blob) as prompt `name` in `language`; the prompt's row. */
export async function uploadPrompt(language, name, file, fetchImpl = globalThis.fetch) {
  const headers = { Accept: 'application/json', 'Content-Type': file.type || 'application/octet-stream' }
  const token = csrf()
  if (token) headers['X-CSRF-Token'] = token
  let res
  try {
    res = await fetchImpl(promptUrl(language, name), { method: 'PUT', headers, body: file, credentials: 'same-origin' })
  } catch (e) {
    throw new ApiError(0, e?.message ?? String(e))
  }
  const text = await res.text()
  let data = null
  try {
    data = text ? JSON.parse(text) : null
  } catch {
    data = null
  }
  if (!res.ok) throw new ApiError(res.status, data?.error || text || res.statusText, data?.field ?? null)
  return data
}

/** A list another area serves, or null when it cannot be read (404, 403). */
export async function optionalList(path) {
  try {
    const r = await api.get(path)
    return Array.isArray(r) ? r : []
  } catch (e) {
    if (e instanceof ApiError && [403, 404, 405].includes(e.status)) return null
    throw e
  }
}

/** Every prompt name of either language (for the editor's prompt pickers). */
export async function promptNames() {
  const list = (await api.get('/api/v1/prompts')) ?? []
  return [...new Set(list.map((p) => p.name))].sort()
}
