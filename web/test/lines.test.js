// The lines area's pure parts: the IVR editor's model (flowModel.js), the upload
// request (linesApi.js), and its words in both languages.
import { describe, expect, it } from 'vitest'
import zhLines from '../src/locales/zh-CN/lines.js'
import enLines from '../src/locales/en/lines.js'
import {
  KINDS,
  addNode,
  fromWeekTable,
  hhmm,
  links,
  minutes,
  moveNode,
  newNode,
  refusedNode,
  removeNode,
  retype,
  summary,
  toSave,
  weekTable,
} from '../src/components/lines/flowModel.js'
import { promptUrl, uploadPrompt } from '../src/components/lines/linesApi.js'
import { ApiError } from '../src/api.js'

function keys(obj, prefix = '') {
  return Object.entries(obj).flatMap(([k, v]) => (typeof v === 'object' ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]))
}

describe('the lines words', () => {
  it('has every word in both languages, and a name for every node kind', () => {
    expect(keys(enLines).sort()).toEqual(keys(zhLines).sort())
    for (const k of KINDS) expect(zhLines.lines.kinds[k], k).toBeTruthy()
    expect(zhLines.lines.menu.trunks).toBe('中继管理')
  })
})

describe('the IVR editor model', () => {
  it('builds a menu with two keys as core reads it', () => {
    const flow = { name: ' 热线 ', start: null, nodes: [] }
    expect(addNode(flow, 'menu')).toBe(1)
    expect(flow.start).toBe(1)
    addNode(flow, 'queue')
    addNode(flow, 'hangup')
    flow.nodes[0].choices.push({ key: '1', next: 2 }, { key: '2', next: 3 })
    flow.nodes[1].group = 7
    const body = toSave(flow)
    expect(body.name).toBe('热线')
    expect(body.nodes.map((n) => n.type)).toEqual(['menu', 'queue', 'hangup'])
    expect(body.nodes[0]).toEqual({ id: 1, type: 'menu', prompts: [], choices: [{ key: '1', next: 2 }, { key: '2', next: 3 }], timeout_secs: 8, retries: 2, fail: null })
    expect(summary(body.nodes[0])).toBe(' [1→2 2→3]')
    expect(summary(body.nodes[1], [{ id: 7, name: '售前' }])).toBe('售前')
  })

  it('keeps links whole when nodes go, move or change kind', () => {
    const flow = { name: 'f', start: 2, nodes: [newNode('menu', 1), newNode('play', 2), newNode('hours', 3)] }
    flow.nodes[0].choices = [{ key: '1', next: 2 }, { key: '2', next: 3 }]
    flow.nodes[0].fail = 2
    flow.nodes[2].open = 2
    flow.nodes[2].closed = 1
    removeNode(flow, 1)
    expect(flow.nodes.map((n) => n.id)).toEqual([1, 3])
    expect(flow.nodes[0].choices).toEqual([{ key: '2', next: 3 }])
    expect(flow.nodes[0].fail).toBe(null)
    expect(flow.nodes[1].open).toBe(null)
    expect(flow.start).toBe(1)
    expect(moveNode(flow.nodes, 1, -1)).toBe(true)
    expect(flow.nodes.map((n) => n.id)).toEqual([3, 1])
    expect(moveNode(flow.nodes, 0, -1)).toBe(false)
    const played = retype({ ...newNode('menu', 5), prompts: ['welcome_menu'] }, 'hangup')
    expect(played).toEqual({ id: 5, type: 'hangup', prompts: ['welcome_menu'] })
    expect(links(newNode('agent', 9)).map(([f, , req]) => `${f}:${req}`)).toEqual(['ok:true', 'unknown:true'])
    for (const k of KINDS) expect(newNode(k, 1).type).toBe(k)
  })

  it('finds the node a refusal names', () => {
    expect(refusedNode('nodes[2]')).toBe(2)
    expect(refusedNode('nodes')).toBe(-1)
    expect(refusedNode(null)).toBe(-1)
  })

  it('edits business hours as a weekly table of HH:MM ranges', () => {
    expect(hhmm(540)).toBe('09:00')
    expect(hhmm(1440)).toBe('24:00')
    expect(minutes('8:30')).toBe(510)
    expect(minutes('24:00')).toBe(1440)
    for (const bad of ['24:01', '9', '09:60', 'x']) expect(minutes(bad)).toBe(null)
    const table = weekTable([{ day: 'Mon', from: 540, to: 1080 }, { day: 'Sat', from: 600, to: 720 }])
    expect(table.Mon).toEqual([{ from: '09:00', to: '18:00' }])
    expect(table.Sun).toEqual([])
    expect(fromWeekTable(table).schedule).toEqual([
      { day: 'Mon', from: 540, to: 1080 },
      { day: 'Sat', from: 600, to: 720 },
    ])
    table.Sun.push({ from: '17:00', to: '11:00' })
    expect(fromWeekTable(table).error).toEqual({ day: 'Sun', index: 0 })
  })
})

describe('prompt uploads', () => {
  it('send the file as it is, with its type and the CSRF token, and name refusals', async () => {
    expect(promptUrl('zh-CN', 'welcome_menu', '2026-01-01T00:00:00+00:00')).toBe(
      '/api/v1/prompts/zh-CN/welcome_menu?v=2026-01-01T00%3A00%3A00%2B00%3A00',
    )
    const seen = []
    const fetchOk = async (url, init) => {
      seen.push({ url, init })
      return { ok: true, status: 200, text: async () => '{"name":"x","seconds":2}' }
    }
    const blob = new Blob([new Uint8Array([82, 73, 70, 70])], { type: 'audio/wav' })
    const r = await uploadPrompt('en', 'x', blob, fetchOk)
    expect(r.seconds).toBe(2)
    expect(seen[0].init.method).toBe('PUT')
    expect(seen[0].init.headers['Content-Type']).toBe('audio/wav')
    expect(seen[0].init.body).toBe(blob)
    const fetchBad = async () => ({ ok: false, status: 400, statusText: 'Bad', text: async () => '{"error":"cannot be played","field":"body"}' })
    const err = await uploadPrompt('en', 'x', blob, fetchBad).catch((e) => e)
    expect(err).toBeInstanceOf(ApiError)
    expect([err.status, err.field, err.message]).toEqual([400, 'body', 'cannot be played'])
  })
})
