import { describe, expect, it } from 'vitest'
import zhCN from '../src/locales/zh-CN.js'
import en from '../src/locales/en.js'
import { makeI18n, savedLocale, setLocale, STORAGE_KEY } from '../src/i18n.js'

function keys(obj, prefix = '') {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === 'object' ? keys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  )
}

function memoryStorage(initial = {}) {
  const m = new Map(Object.entries(initial))
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), map: m }
}

describe('i18n', () => {
  it('has every string in both languages', () => {
    expect(keys(en).sort()).toEqual(keys(zhCN).sort())
    for (const k of keys(zhCN)) {
      const v = k.split('.').reduce((o, p) => o[p], en)
      expect(v, k).not.toBe('')
    }
  })

  it('opens in Chinese and keeps the choice', () => {
    const storage = memoryStorage()
    expect(savedLocale(storage)).toBe('zh-CN')
    const i18n = makeI18n(storage)
    expect(i18n.global.t('login.submit')).toBe('登录')
    expect(setLocale('en', storage, i18n)).toBe(true)
    expect(i18n.global.t('login.submit')).toBe('Sign in')
    expect(storage.map.get(STORAGE_KEY)).toBe('en')
    expect(makeI18n(storage).global.t('states.rest')).toBe('On a break')
    expect(setLocale('fr', storage, i18n)).toBe(false)
    expect(savedLocale(memoryStorage({ [STORAGE_KEY]: 'fr' }))).toBe('zh-CN')
  })

  it('names the states as the daemon does', () => {
    const t = makeI18n(null).global.t
    expect(['idle', 'busy', 'rest', 'offline', 'talking'].map((s) => t(`states.${s}`))).toEqual([
      '空闲',
      '忙碌',
      '小休',
      '签出',
      '通话中',
    ])
  })
})
