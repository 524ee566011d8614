// vue-i18n with the app's two languages: zh-CN (the default) and en. The choice is
// kept in localStorage, so the next visit opens in the same language.
import { createI18n } from 'vue-i18n'
import zhCNBase from './locales/zh-CN.js'
import enBase from './locales/en.js'

// Each area keeps its words in locales/<language>/<area>.js (default export: an
// object under the area's own top-level key), merged over the base files here.
const zhAreas = import.meta.glob('./locales/zh-CN/*.js', { eager: true })
const enAreas = import.meta.glob('./locales/en/*.js', { eager: true })

/** `base` with every area's messages added (deeply: an area may add to a base key). */
export function merged(base, areas) {
  const out = structuredClone(base)
  const into = (target, source) => {
    for (const [k, v] of Object.entries(source ?? {})) {
      if (v && typeof v === 'object' && !Array.isArray(v) && target[k] && typeof target[k] === 'object')
        into(target[k], v)
      else target[k] = v
    }
  }
  for (const key of Object.keys(areas).sort()) into(out, areas[key].default)
  return out
}

const zhCN = merged(zhCNBase, zhAreas)
const en = merged(enBase, enAreas)

export const LOCALES = ['zh-CN', 'en']
export const DEFAULT_LOCALE = 'zh-CN'
export const STORAGE_KEY = 'callbox.locale'

function storageOf(storage) {
  if (storage !== undefined) return storage
  try {
    return globalThis.localStorage ?? null
  } catch {
    return null
  }
}

/** The saved language, or zh-CN when none (or an unknown one) is saved. */
export function savedLocale(storage) {
  try {
    const v = storageOf(storage)?.getItem(STORAGE_KEY)
    return LOCALES.includes(v) ? v : DEFAULT_LOCALE
  } catch {
    return DEFAULT_LOCALE
  }
}

export function makeI18n(storage) {
  return createI18n({
    legacy: false,
    globalInjection: true,
    locale: savedLocale(storage),
    fallbackLocale: DEFAULT_LOCALE,
    messages: { 'zh-CN': zhCN, en },
  })
}

export const i18n = makeI18n()

/** Switch the language (an unknown one is refused) and remember it. */
export function setLocale(locale, storage, instance = i18n) {
  if (!LOCALES.includes(locale)) return false
  instance.global.locale.value = locale
  try {
    storageOf(storage)?.setItem(STORAGE_KEY, locale)
  } catch {
    // A browser that refuses storage still switches, for this visit.
  }
  if (globalThis.document) {
    document.documentElement.lang = locale
    document.title = instance.global.t('app.title')
  }
  return true
}
