// Errors and confirmations as Element Plus messages, in the user's language.
import { ElMessage } from 'element-plus'
import { i18n } from './i18n.js'
import { errorText } from './api.js'

export function showError(err) {
  ElMessage({ type: 'error', message: errorText(err, i18n.global), grouping: true, showClose: true })
}

export function showDone(message) {
  ElMessage({ type: 'success', message, grouping: true })
}
