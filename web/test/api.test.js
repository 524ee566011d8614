import { describe, expect, it, beforeEach } from 'vitest'
import { api, ApiError, errorText, setCsrf, request } from '../src/api.js'
import { makeI18n } from '../src/i18n.js'

function fakeFetch(status, body) {
  const calls = []
  const f = async (path, init) => {
    calls.push({ path, init })
    const text = typeof body === 'string' ? body : JSON.stringify(body)
    return { ok: status >= 200 && status < 300, status, statusText: 'x', text: async () => text }
  }
  f.calls = calls
  return f
}

describe('api client', () => {
  beforeEach(() => setCsrf(null))

  it('sends changes as JSON with the CSRF token and the cookie', async () => {
    setCsrf('tok123')
    const f = fakeFetch(200, { number: '8001', state: 'rest' })
    const r = await api.post('/api/v1/agents/8001/state', { state: 'rest' }, { fetch: f })
    expect(r.state).toBe('rest')
    const { init } = f.calls[0]
    expect(init.method).toBe('POST')
    expect(init.credentials).toBe('same-origin')
    expect(init.headers['Content-Type']).toBe('application/json')
    expect(init.headers['X-CSRF-Token']).toBe('tok123')
    expect(JSON.parse(init.body)).toEqual({ state: 'rest' })
  })

  it('sends the token on DELETE and none on GET', async () => {
    setCsrf('t')
    const f = fakeFetch(200, '')
    expect(await api.del('/api/v1/session', { fetch: f })).toBe(null)
    expect(f.calls[0].init.headers['X-CSRF-Token']).toBe('t')
    await api.get('/api/v1/agents', { fetch: f })
    expect(f.calls[1].init.headers['X-CSRF-Token']).toBeUndefined()
    expect(f.calls[1].init.body).toBeUndefined()
  })

  it('turns a refusal into an ApiError naming the field', async () => {
    const f = fakeFetch(400, { error: 'expected "device", "softphone" or "direct"', field: 'mode' })
    const e = await request('POST', '/api/v1/agents/8001/mode', { mode: 'fax' }, { fetch: f }).catch((e) => e)
    expect(e).toBeInstanceOf(ApiError)
    expect([e.status, e.field]).toEqual([400, 'mode'])
    const zh = makeI18n(null).global
    expect(errorText(e, zh)).toBe('字段“接听方式”:expected "device", "softphone" or "direct"')
    zh.locale.value = 'en'
    expect(errorText(e, zh)).toBe('Field "answer mode": expected "device", "softphone" or "direct"')
  })

  it('names an unknown field as the daemon spells it, and says when the daemon is gone', async () => {
    const e = await request('POST', '/x', {}, { fetch: fakeFetch(400, { error: 'bad', field: 'mood' }) }).catch((e) => e)
    const i18n = makeI18n(null).global
    expect(errorText(e, i18n)).toBe('字段“mood”:bad')
    const gone = await request('GET', '/x', undefined, {
      fetch: async () => {
        throw new TypeError('Failed to fetch')
      },
    }).catch((e) => e)
    expect(gone.status).toBe(0)
    expect(errorText(gone, i18n)).toContain('无法连接到 callbox')
    const plain = await request('GET', '/x', undefined, { fetch: fakeFetch(409, { error: 'no call' }) }).catch((e) => e)
    expect(errorText(plain, i18n)).toBe('请求失败(409):no call')
  })
})
