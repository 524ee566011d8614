// One ticking clock for every timer on the page, and how a duration reads.
import { ref } from 'vue'

export const now = ref(Date.now())
setInterval(() => {
  now.value = Date.now()
}, 1000)

/** Seconds as M:SS, or H:MM:SS from an hour on; negative (clock skew) reads as 0. */
export function formatDuration(secs) {
  const s = Math.max(0, Math.floor(secs))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const ss = String(s % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`
}

/** Seconds from an RFC 3339 time (or epoch ms) until now. */
export function secondsSince(t, at = now.value) {
  const start = typeof t === 'number' ? t : Date.parse(t)
  return Number.isNaN(start) ? 0 : (at - start) / 1000
}
