// The live stream's client (src/live.js) against a fake EventSource and fake
// timers, and the live area's words (both languages, the verdicts in Chinese).
import { describe, expect, it, vi } from 'vitest'
import { createLive, FIRST_RETRY_MS } from '../src/live.js'
import { detailText, reasonText, saidText } from '../src/components/live/reasons.js'
import zhLive from '../src/locales/zh-CN/live.js'
import enLive from '../src/locales/en/live.js'

class FakeSource {
  static all = []
  constructor(url) {
    this.url = url
    this.readyState = 0
    this.listeners = {}
    this.closed = false
    FakeSource.all.push(this)
  }
  addEventListener(name, fn) {
    ;(this.listeners[name] ??= []).push(fn)
  }
  close() {
    this.closed = true
    this.readyState = 2
  }
  // test side
  opened() {
    this.readyState = 1
    this.onopen?.()
  }
  send(name, data) {
    for (const fn of this.listeners[name] ?? []) fn({ data: JSON.stringify(data) })
  }
  fail(readyState) {
    this.readyState = readyState
    this.onerror?.()
  }
}

function setup(sessionOpen = true) {
  FakeSource.all = []
  const polls = []
  const live = createLive({ EventSource: FakeSource, checkSession: async () => sessionOpen })
  return { live, polls, last: () => FakeSource.all[FakeSource.all.length - 1] }
}

const flush = () => new Promise((r) => setTimeout(r, 0))

describe('live stream', () => {
  it('hands events to subscribers and polls only while the stream is not open', () => {
    vi.useFakeTimers()
    const { live, last } = setup()
    const seen = []
    live.on('agent', (a) => seen.push(a.state))
    let polled = 0
    const release = live.acquire()
    const stop = live.whileDown(() => polled++, 1000)
    expect(live.state).toBe('connecting')
    expect(polled).toBe(1)
    last().opened()
    expect(live.isOpen).toBe(true)
    vi.advanceTimersByTime(5000)
    expect(polled).toBe(1)
    last().send('agent', { number: '8001', state: 'idle' })
    expect(seen).toEqual(['idle'])
    // The browser is reconnecting by itself: poll meanwhile, stop once it is back.
    last().fail(0)
    expect(live.state).toBe('down')
    vi.advanceTimersByTime(2500)
    expect(polled).toBe(4)
    last().opened()
    vi.advanceTimersByTime(3000)
    expect(polled).toBe(4)
    stop()
    release()
    expect(last().closed).toBe(true)
    expect(live.state).toBe('idle')
    vi.useRealTimers()
  })

  it('tries again with back-off when the browser gives up, and shares one stream', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'clearTimeout', 'clearInterval'] })
    const { live, last } = setup()
    const a = live.acquire()
    const b = live.acquire()
    expect(FakeSource.all.length).toBe(1)
    last().fail(2)
    await vi.advanceTimersByTimeAsync(0)
    expect(live.state).toBe('down')
    await vi.advanceTimersByTimeAsync(FIRST_RETRY_MS - 10)
    expect(FakeSource.all.length).toBe(1)
    await vi.advanceTimersByTimeAsync(20)
    expect(FakeSource.all.length).toBe(2)
    last().fail(2)
    await vi.advanceTimersByTimeAsync(FIRST_RETRY_MS + 10)
    expect(FakeSource.all.length).toBe(2)
    await vi.advanceTimersByTimeAsync(FIRST_RETRY_MS)
    expect(FakeSource.all.length).toBe(3)
    a()
    expect(last().closed).toBe(false)
    b()
    expect(last().closed).toBe(true)
    vi.useRealTimers()
  })

  it('reports a lost session once, and does not fight another tab for a stream', async () => {
    const gone = setup(false)
    let lost = 0
    gone.live.on('session-lost', () => lost++)
    gone.live.acquire()
    gone.last().opened()
    gone.last().send('end', { code: 'session', reason: 'the session has ended' })
    await flush()
    expect(lost).toBe(1)
    expect(gone.live.state).toBe('closed')

    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    const other = setup(true)
    other.live.acquire()
    other.last().opened()
    other.last().send('end', { code: 'displaced', reason: 'x' })
    await vi.advanceTimersByTimeAsync(MAX_WAIT)
    expect(FakeSource.all.length).toBe(1)
    expect(other.live.state).toBe('down')
    vi.useRealTimers()
  })
})

const MAX_WAIT = 60000

function keys(obj, prefix = '') {
  return Object.entries(obj).flatMap(([k, v]) =>
    v && typeof v === 'object' ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  )
}

describe('live words', () => {
  it('has every string in both languages', () => {
    expect(keys(enLive).sort()).toEqual(keys(zhLive).sort())
  })

  it('says the switchboard\'s verdicts in Chinese', () => {
    const zh = (s) => reasonText(s, 'zh-CN')
    expect(zh('not a member of any skill group')).toBe('不属于任何技能组')
    expect(zh('logged out')).toBe('已签出')
    const busy = zh('busy (lunch) since 2026-03-01 09:00:00 UTC (65 s ago)')
    expect(busy.startsWith('忙碌(lunch),自 ') && busy.endsWith(' 起(65 秒前)')).toBe(true)
    expect(zh('in after-call work for another 7 s')).toBe('话后处理中,还需 7 秒')
    expect(zh('phone 1001 is not registered')).toBe('话机 1001 未注册')
    expect(zh('3 unanswered offers in a row')).toBe('已连续 3 次未接')
    expect(zh('something new')).toBe('something new')
    expect(reasonText('logged out', 'en')).toBe('logged out')
    expect(zh('logged out, phone 1001 is not registered')).toBe('已签出,话机 1001 未注册')
    expect(saidText('8003 logged out', 'zh-CN')).toBe('8003 已签出')
    expect(saidText('8001 free', 'zh-CN')).toBe('8001 空闲可接')
    expect(detailText('logged in, answering on the direct line', 'zh-CN')).toBe('签入,用直线接听')
    expect(detailText('offer withdrawn: another agent answered first', 'zh-CN')).toBe('来电已撤回:其他坐席已先接听')
    expect(detailText('taking a break', 'en')).toBe('taking a break')
  })
})
