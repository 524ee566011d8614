// Who is signed in: the answer of /api/v1/session (user, role, agent, name, csrf).
// The session itself is an HttpOnly cookie the script never sees; the CSRF token
// is kept in memory only, so a reload asks GET /api/v1/session for it again.
import { reactive } from 'vue'
import { api, agentPath, ApiError, setCsrf } from './api.js'

export const session = reactive({
  loaded: false,
  user: null,
  role: null,
  agent: null,
  name: null,
  directNumber: null,
})

function apply(s) {
  session.user = s?.user ?? null
  session.role = s?.role ?? null
  session.agent = s?.agent ?? null
  session.name = s?.name ?? s?.user ?? null
  session.directNumber = s?.direct_number ?? null
  setCsrf(s?.csrf ?? null)
}

export function clearSession() {
  apply(null)
}

/** Asks the daemon who we are; 401 (no session) means the login page. */
export async function loadSession() {
  try {
    apply(await api.get('/api/v1/session'))
  } catch {
    apply(null)
  }
  session.loaded = true
  return session
}

/** The session login; for an agent, then the ACD login with the chosen mode. */
export async function signIn(user, password, mode) {
  apply(await api.post('/api/v1/session', { user, password }))
  session.loaded = true
  let agent = null
  if (session.agent) agent = await api.post(agentPath(session.agent, '/login'), { mode })
  return agent
}

/** ACD logout (for an agent), then the session logout; either may already be gone. */
export async function signOut() {
  const errors = []
  if (session.agent) {
    try {
      await api.post(agentPath(session.agent, '/logout'), {})
    } catch (e) {
      errors.push(e)
    }
  }
  try {
    await api.del('/api/v1/session')
  } catch (e) {
    if (!(e instanceof ApiError && (e.status === 404 || e.status === 401))) errors.push(e)
  }
  clearSession()
  return errors
}
