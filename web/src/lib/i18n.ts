// A tiny reactive i18n: t() reads `lang`, so templates re-render when the language switches.
import { ref } from 'vue'
import { en, zh, type Dict } from './messages'

export type Lang = 'zh-CN' | 'en'
const KEY = 'kefu.lang'

function initial(): Lang {
  const saved = localStorage.getItem(KEY)
  return saved === 'en' || saved === 'zh-CN' ? saved : 'zh-CN'
}

export const lang = ref<Lang>(initial())
document.documentElement.lang = lang.value

export function setLang(value: Lang): void {
  lang.value = value
  localStorage.setItem(KEY, value)
  document.documentElement.lang = value
}

export function toggleLang(): void {
  setLang(lang.value === 'en' ? 'zh-CN' : 'en')
}

export function fill(text: string, params?: Record<string, string | number | null | undefined>): string {
  if (!params) return text
  return text.replace(/\{(\w+)\}/g, (whole, k: string) => {
    const v = params[k]
    return v === undefined || v === null ? whole : String(v)
  })
}

export function t(key: string, params?: Record<string, string | number | null | undefined>): string {
  const dict: Dict = lang.value === 'en' ? en : zh
  return fill(dict[key] ?? (zh as Dict)[key] ?? key, params)
}

/** A metric's label in the current language (its id when unknown). */
export function metricLabel(id: string): string {
  const key = `metric.${id}`
  const s = t(key)
  return s === key ? id : s
}

/** A group's name as people read it: A/B arms (`button`), store tiers (`small`) and other
 * codes the reports use as column names; unknown values are shown as they are. */
export function groupLabel(value: string): string {
  const key = `group.${value}`
  const s = t(key)
  return s === key ? value : s
}
