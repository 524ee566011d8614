// The customer area's pure helpers (components/crm/crm.js) and its words: both
// languages have the same keys, and the Chinese is what an agent reads.
import { describe, expect, it } from 'vitest'
import zh from '../src/locales/zh-CN/crm.js'
import en from '../src/locales/en/crm.js'
import { blankValues, ivrText, missingField, placeText, queryOf, valuesToSend } from '../src/components/crm/crm.js'

function keys(obj, prefix = '') {
  return Object.entries(obj).flatMap(([k, v]) => (typeof v === 'object' ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`]))
}

describe('crm words', () => {
  it('has every key in both languages', () => {
    expect(keys(en).sort()).toEqual(keys(zh).sort())
    expect(zh.crm.menu.tickets).toBe('工单')
    expect(zh.crm.tabs.calls).toBe('历史通话')
    expect(zh.crm.pop.location).toBe('归属地')
  })
})

describe('crm helpers', () => {
  it('reads a place', () => {
    expect(placeText({ province: '广东省', city: '深圳市', carrier: '中国移动' })).toBe('广东省 深圳市 · 中国移动')
    expect(placeText({ province: '北京市', city: '北京市', carrier: null })).toBe('北京市')
    expect(placeText(null)).toBe(null)
  })

  it('builds queries of the values given', () => {
    expect(queryOf({ customer: '+8613800138000', status: '', limit: 50, agent: null })).toBe('?customer=%2B8613800138000&limit=50')
    expect(queryOf({})).toBe('')
  })

  it('handles a type s extra fields', () => {
    const type = { fields: [{ name: '订单号', required: true, options: [] }, { name: '渠道', required: false, options: ['电话'] }] }
    expect(blankValues(type)).toEqual({ 订单号: '', 渠道: '' })
    expect(missingField(type, { 订单号: ' ' })).toBe('订单号')
    expect(missingField(type, { 订单号: 'A1' })).toBe(null)
    expect(valuesToSend(type, { 订单号: 'A1', 渠道: '', other: 'x' })).toEqual({ 订单号: 'A1' })
  })

  it('says the IVR path', () => {
    const t = (k, p) => (k === 'crm.pop.pressed' ? `按 ${p.keys}` : '未按键')
    expect(ivrText({ flow: '默认流程', keys: ['1'], to: '售前咨询' }, t)).toBe('默认流程(按 1)→ 售前咨询')
    expect(ivrText({ flow: '签入', keys: [], to: '默认流程' }, t)).toBe('签入(未按键)→ 默认流程')
  })
})
