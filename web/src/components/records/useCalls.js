// A records page's list of calls: the filter values, the page, loading, and
// exporting what the filters find. `path` is the list's API path (GET /api/v1/calls
// or /api/v1/calls/missed); `fixed` are parameters the page always adds (an agent's
// own number on 我的通话).
import { ref } from 'vue'
import { api } from '../../api.js'
import { i18n } from '../../i18n.js'
import { showDone, showError } from '../../notify.js'
import { queryString, toParams } from './query.js'

export const PAGE_SIZE = 20

export function useCalls(path, initial, fixed = () => ({})) {
  const filters = ref(initial())
  const calls = ref([])
  const total = ref(0)
  const page = ref(1)
  const loading = ref(false)

  const params = () => ({ ...toParams(filters.value), ...fixed() })
  // Only the answer to the latest request is shown: a slow earlier one that arrives
  // after it must not overwrite what the user asked for last.
  let latest = 0

  async function load() {
    const mine = ++latest
    loading.value = true
    try {
      const lang = i18n.global.locale.value === 'en' ? 'en' : 'zh-CN'
      const answer = await api.get(
        path + queryString(params(), { limit: PAGE_SIZE, offset: (page.value - 1) * PAGE_SIZE, lang }),
      )
      if (mine !== latest) return
      calls.value = answer?.calls ?? []
      total.value = answer?.total ?? 0
    } catch (e) {
      if (mine === latest) showError(e)
    } finally {
      if (mine === latest) loading.value = false
    }
  }

  function search() {
    page.value = 1
    return load()
  }

  function reset() {
    filters.value = initial()
    return search()
  }

  /** Queues an export of what the filters find; the task, or null. */
  async function exportAs(format, extra = {}) {
    try {
      const lang = i18n.global.locale.value === 'en' ? 'en' : 'zh-CN'
      const task = await api.post('/api/v1/exports', { format, lang, ...params(), ...extra })
      showDone(i18n.global.t('records.exports.queued', { id: task.id }))
      return task
    } catch (e) {
      showError(e)
      return null
    }
  }

  return { filters, calls, total, page, loading, load, search, reset, exportAs }
}
