// The live event stream (GET /api/v1/events) for the whole tab: one EventSource that
// every view shares (acquire/release), events handed to subscribers by name, a
// reconnect with back-off when it drops, and a state that tells views to poll in its
// place while it is not open (whileDown). It must not poll anything itself, nor
// touch the session: when the daemon ends the stream because the session ended, it
// asks GET /api/v1/session once and reports 'session-lost'.
//
// States: 'idle' (nobody acquired it), 'connecting', 'open', 'down' (polling until
// the next try), 'closed' (the session is gone).
import { api, ApiError } from './api.js'

export const EVENTS = ['agent', 'call', 'pop', 'queues', 'today', 'end']
/** Back-off between tries after the stream failed: 2 s, doubling, at most 30 s. */
export const FIRST_RETRY_MS = 2000
export const MAX_RETRY_MS = 30000

/** Is the session still open? A network error is not an answer: say yes. */
async function sessionOpen() {
  try {
    await api.get('/api/v1/session')
    return true
  } catch (e) {
    return !(e instanceof ApiError && e.status === 401)
  }
}

export function createLive(options = {}) {
  const url = options.url ?? '/api/v1/events'
  const Source = options.EventSource ?? globalThis.EventSource
  const checkSession = options.checkSession ?? sessionOpen
  const timers = options.timers ?? { set: (f, ms) => setTimeout(f, ms), clear: (t) => clearTimeout(t) }
  const every = options.every ?? { set: (f, ms) => setInterval(f, ms), clear: (t) => clearInterval(t) }

  const handlers = new Map()
  let users = 0
  let es = null
  let state = 'idle'
  let retryMs = FIRST_RETRY_MS
  let retryTimer = null

  function emit(name, data) {
    for (const fn of handlers.get(name) ?? []) {
      try {
        fn(data)
      } catch (e) {
        console.error(`live: a ${name} handler failed`, e)
      }
    }
  }

  function setState(s) {
    if (s === state) return
    state = s
    emit('state', s)
  }

  function closeSource() {
    if (!es) return
    es.onopen = es.onerror = null
    es.close()
    es = null
  }

  function scheduleRetry() {
    if (retryTimer !== null || users === 0) return
    retryTimer = timers.set(() => {
      retryTimer = null
      if (users > 0 && state !== 'closed') open()
    }, retryMs)
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS)
  }

  /** The stream is gone: poll meanwhile; end for good if the session is. */
  async function lost(retry = true) {
    closeSource()
    if (state === 'closed' || users === 0) return
    setState('down')
    if (!(await checkSession())) {
      setState('closed')
      emit('session-lost', null)
      return
    }
    if (retry) scheduleRetry()
  }

  function open() {
    if (!Source) {
      setState('down')
      return
    }
    closeSource()
    setState('connecting')
    const source = new Source(url, { withCredentials: true })
    es = source
    source.onopen = () => {
      if (es !== source) return
      retryMs = FIRST_RETRY_MS
      setState('open')
    }
    source.onerror = () => {
      if (es !== source) return
      // CONNECTING: the browser retries by itself (we poll meanwhile); CLOSED: it
      // gave up (401, 429, 503): we try again later ourselves.
      if (source.readyState === 2) lost()
      else setState('down')
    }
    for (const name of EVENTS) {
      source.addEventListener(name, (ev) => {
        if (es !== source) return
        let data = null
        try {
          data = JSON.parse(ev.data)
        } catch {
          return
        }
        if (state !== 'open') setState('open')
        if (name === 'end') {
          // 'displaced': this user has too many streams open; this tab polls
          // instead of taking one back (two tabs would take turns for ever).
          emit('end', data)
          lost(data?.code !== 'displaced')
          return
        }
        emit(name, data)
      })
    }
  }

  return {
    /** Subscribes to an event (or 'state', 'session-lost'); returns the unsubscribe. */
    on(name, fn) {
      if (!handlers.has(name)) handlers.set(name, new Set())
      handlers.get(name).add(fn)
      return () => handlers.get(name)?.delete(fn)
    },
    get state() {
      return state
    },
    /** True while the stream delivers events: pollers rest. */
    get isOpen() {
      return state === 'open'
    },
    /** Starts the stream for one more user of it; returns the release. */
    acquire() {
      users += 1
      if (users === 1 && (state === 'idle' || state === 'closed')) {
        retryMs = FIRST_RETRY_MS
        open()
      }
      let released = false
      return () => {
        if (released) return
        released = true
        users -= 1
        if (users === 0) {
          closeSource()
          if (retryTimer !== null) timers.clear(retryTimer)
          retryTimer = null
          setState('idle')
        }
      }
    },
    /**
     * Runs `poll` now and every `ms` while the stream is not open; returns the
     * cancel. A view polls in the stream's place this way.
     */
    whileDown(poll, ms) {
      let timer = null
      const sync = () => {
        const down = state !== 'open'
        if (down && timer === null) {
          poll()
          timer = every.set(poll, ms)
        } else if (!down && timer !== null) {
          every.clear(timer)
          timer = null
        }
      }
      const off = this.on('state', sync)
      sync()
      return () => {
        off()
        if (timer !== null) every.clear(timer)
        timer = null
      }
    },
  }
}

/** The tab's one stream. */
export const live = createLive()
