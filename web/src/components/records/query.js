// The records pages' shared pieces, pure: a filter form's values as the query string
// of GET /api/v1/calls (empty fields left out), today's date, and how times and
// durations are shown. Must not call the daemon.

/** The filter form's empty values. */
export function emptyFilters(extra = {}) {
  return {
    dates: null,
    number: '',
    direction: '',
    result: '',
    agent: '',
    group: '',
    service_number: '',
    min_wait: null,
    recorded: '',
    handled: '',
    ...extra,
  }
}

/** Today as YYYY-MM-DD in the browser's time zone. */
export function today(now = new Date()) {
  const p = (n) => String(n).padStart(2, '0')
  return `${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}`
}

/** The form's values as API parameters (an object of strings), empty ones left out. */
export function toParams(f) {
  const out = {}
  if (Array.isArray(f.dates) && f.dates.length === 2) {
    if (f.dates[0]) out.from = f.dates[0]
    if (f.dates[1]) out.to = f.dates[1]
  }
  for (const k of ['number', 'direction', 'result', 'agent', 'group', 'service_number', 'recorded', 'handled']) {
    const v = f[k]
    if (v !== '' && v !== null && v !== undefined) out[k] = String(v).trim()
  }
  if (f.min_wait !== null && f.min_wait !== undefined && f.min_wait !== '') out.min_wait = String(f.min_wait)
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== ''))
}

/** `params` plus paging as a query string (`?a=1&b=2`, or '' when empty). */
export function queryString(params, page = {}) {
  const q = new URLSearchParams({ ...params, ...page })
  const s = q.toString()
  return s ? `?${s}` : ''
}

/** An RFC 3339 time as the page shows it (local, 24-hour). */
export function showTime(iso, locale = 'zh-CN') {
  if (!iso) return '-'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  return d.toLocaleString(locale === 'en' ? 'en-GB' : 'zh-CN', { hour12: false })
}

/** Whole seconds as m:ss (h:mm:ss past an hour); '-' for none. */
export function showSecs(s) {
  if (s === null || s === undefined) return '-'
  const n = Math.max(0, Math.round(Number(s)))
  const p = (x) => String(x).padStart(2, '0')
  const h = Math.floor(n / 3600)
  const m = Math.floor((n % 3600) / 60)
  return h ? `${h}:${p(m)}:${p(n % 60)}` : `${m}:${p(n % 60)}`
}

/** The el-tag type of a call's result. */
export function resultType(result) {
  return { answered: 'success', abandoned: 'warning', no_answer: 'warning', busy: 'info', refused: 'danger', ongoing: '' }[result] ?? ''
}
