// Small helpers the customer area's components share: how a place, a time and a
// duration read, the API paths, and a ticket type's extra fields as a form model.
// Pure functions (tested by web/test/crm.test.js); no requests here.
import { formatDuration } from '../../clock.js'

/** The 归属地 as one line: "广东省 深圳市 · 中国移动"; null when unknown. */
export function placeText(location) {
  if (!location || !location.province) return null
  const place = location.city && location.city !== location.province ? `${location.province} ${location.city}` : location.province
  return location.carrier ? `${place} · ${location.carrier}` : place
}

/** An RFC 3339 time in the browser's local time, "2026-12-01 09:30:05". */
export function timeText(iso) {
  if (!iso) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return ''
  const p = (n) => String(n).padStart(2, '0')
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
}

/** Seconds as M:SS (or '—' when there are none). */
export function secsText(secs) {
  return secs == null ? '—' : formatDuration(secs)
}

export const customerPath = (number, rest = '') => `/api/v1/customers/${encodeURIComponent(number)}${rest}`

/** A query string of the non-empty values. */
export function queryOf(params) {
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== '') q.set(k, String(v))
  const s = q.toString()
  return s ? `?${s}` : ''
}

/** The values a ticket of `type` starts with: every extra field empty. */
export function blankValues(type) {
  return Object.fromEntries((type?.fields ?? []).map((f) => [f.name, '']))
}

/** The extra fields to send: the type's own, empty ones left out. */
export function valuesToSend(type, values) {
  const out = {}
  for (const f of type?.fields ?? []) {
    const v = values?.[f.name]
    if (v !== undefined && v !== null && String(v) !== '') out[f.name] = String(v)
  }
  return out
}

/** The first required field of `type` left empty in `values`, if any. */
export function missingField(type, values) {
  return (type?.fields ?? []).find((f) => f.required && !String(values?.[f.name] ?? '').trim())?.name ?? null
}

/** The IVR path as words: "默认流程(按 1)→ 售前咨询". `t` is vue-i18n's. */
export function ivrText(step, t) {
  const keys = step.keys?.length ? t('crm.pop.pressed', { keys: step.keys.join(' ') }) : t('crm.pop.noKey')
  return `${step.flow}(${keys})→ ${step.to}`
}

export const STATUSES = ['open', 'processing', 'resolved', 'closed']
export const PRIORITIES = ['low', 'normal', 'high', 'urgent']
export const STATUS_TAG = { open: 'danger', processing: 'warning', resolved: 'success', closed: 'info' }
export const PRIORITY_TAG = { low: 'info', normal: 'primary', high: 'warning', urgent: 'danger' }
