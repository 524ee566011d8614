// What the admin console's list pages and edit dialogs share: loading a list (a
// spinner, the daemon's error shown; a quiet reload for polling shows neither), a
// confirm-then-remove that shows the daemon's refusal, a one-click change (enable,
// disable), and saving a dialog (its `saving` flag; the daemon's error, which names
// the field, shown by showError). Words come from the page's area: `${words}.remove`,
// `.confirmRemove`, `.removed`, `.saved` (staff.common, lines.common, crm.types).
// It owns no page's look, paths or data-test attributes: the pages keep those.
import { onBeforeUnmount, onMounted, ref } from 'vue'
import { useI18n } from 'vue-i18n'
import { ElMessageBox } from 'element-plus'
import { showDone, showError } from '../../notify.js'

/**
 * A list page's list: `fetch()` answers the rows (null counts as none). Loads on
 * mount; with `poll` (ms) it reloads quietly that often until the page goes.
 * `items` may be a ref the page already has (a picker list it shares).
 */
export function useAdminList(words, fetch, { poll = 0, items = ref([]) } = {}) {
  const { t } = useI18n()
  const loading = ref(false)
  let timer = null

  /** Reloads; `load(true)` is quiet (no spinner, no error). Event arguments are not quiet. */
  async function load(quiet) {
    const loud = quiet !== true
    if (loud) loading.value = true
    try {
      items.value = (await fetch()) ?? []
    } catch (e) {
      if (loud) showError(e)
    } finally {
      loading.value = false
    }
  }

  /**
   * Asks before removing `name`, runs `call`, says done or shows the daemon's error
   * (through `failed`, which may put it in the page's words), then reloads.
   */
  async function removeItem(name, call, failed = (e) => e) {
    try {
      await ElMessageBox.confirm(t(`${words}.confirmRemove`, { name }), t(`${words}.remove`), { type: 'warning' })
    } catch {
      return
    }
    try {
      await call()
      showDone(t(`${words}.removed`))
    } catch (e) {
      showError(failed(e))
    }
    load()
  }

  /** A one-click change of a row (enable, disable): says saved or shows the error, then reloads. */
  async function change(call) {
    try {
      await call()
      showDone(t(`${words}.saved`))
    } catch (e) {
      showError(e)
    }
    load()
  }

  onMounted(() => {
    load()
    if (poll) timer = setInterval(() => load(true), poll)
  })
  onBeforeUnmount(() => clearInterval(timer))

  return { items, loading, load, removeItem, change }
}

/**
 * Saving an edit dialog: `save(call, after)` sets `saving`, runs `call`, says saved
 * and runs `after` (close the dialog, reload); on an error it shows the daemon's
 * message, which names the field, and keeps the dialog open.
 */
export function useSaving(words) {
  const { t } = useI18n()
  const saving = ref(false)
  async function save(call, after) {
    saving.value = true
    try {
      await call()
      showDone(t(`${words}.saved`))
      after()
    } catch (e) {
      showError(e)
    } finally {
      saving.value = false
    }
  }
  return { saving, save }
}
