// Toasts: short messages in a corner; errors carry the server's `detail`.
import { reactive } from 'vue'
import { ApiError } from './api'
import { t } from './i18n'

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

export function errorText(e: unknown): string {
  if (e instanceof ApiError) {
    if (e.status === 0) return t('err.network')
    return e.detail || t('err.http', { status: e.status })
  }
  return e instanceof Error ? e.message : String(e)
}

export function toastError(e: unknown): void {
  notify('error', errorText(e))
}
