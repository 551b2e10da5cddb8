// Toasts: short messages in a corner; errors carry the server's `detail`.
import { reactive } from 'vue'
import { ApiError } from './api'
import { lang, t } from './i18n'

export interface Toast {
  id: number
  kind: 'info' | 'success' | 'error'
  text: string
}

export const toasts = reactive<Toast[]>([])
let seq = 0

export function notify(kind: Toast['kind'], text: string, ms = kind === 'error' ? 6000 : 3000): void {
  const id = ++seq
  toasts.push({ id, kind, text })
  if (toasts.length > 5) toasts.splice(0, toasts.length - 5)
  setTimeout(() => dismiss(id), ms)
}

export function dismiss(id: number): void {
  const i = toasts.findIndex((x) => x.id === id)
  if (i >= 0) toasts.splice(i, 1)
}

// Server reasons people meet often, worded in both languages (the API answers in English).
const KNOWN: [RegExp, string][] = [
  [/^missing or invalid token$/, 'err.token'],
  [/^needs role (\w+)/, 'err.role'],
  [/^needs a buyer token$/, 'err.buyerOnly'],
  [/^store-wide quick replies need role/, 'err.role'],
]

/** A failed request as a sentence in the UI's language. Known server reasons and the
 * status classes are translated; in English the server's own detail is shown as it is. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0) return t('err.network')
    for (const [re, key] of KNOWN) {
      const m = re.exec(e.detail)
      if (m) return t(key, { role: m[1] ? t(`role.${m[1]}`) : '' })
    }
    if (lang.value === 'en' && e.detail) return e.detail
    const byStatus = `err.${e.status}`
    const worded = t(byStatus)
    if (worded !== byStatus) return worded
    if (e.status >= 500) return t('err.5xx', { status: e.status })
    return t('err.http', { status: e.status })
  }
  return e instanceof Error ? e.message : String(e)
}

export function toastError(e: unknown): void {
  notify('error', errorText(e))
}
