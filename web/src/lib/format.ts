// Number, money, duration and time formatting shared by the pages.
import { lang } from './i18n'

export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—'
  const s = Math.max(0, Math.floor(seconds))
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const r = s % 60
  const mm = String(m).padStart(2, '0')
  const ss = String(r).padStart(2, '0')
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`
}

export function seconds(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—'
  if (v < 60) return `${v.toFixed(v < 10 ? 1 : 0)} s`
  return duration(v)
}

export function money(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—'
  return '¥' + v.toLocaleString(lang.value, { minimumFractionDigits: 2, maximumFractionDigits: 2 })
}

export function percent(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined) return '—'
  return `${(v * 100).toFixed(digits)}%`
}

/** A number with the language's grouping either way: 9,042 and 14,718.60 (`digits` decimals
 * when it has any). */
export function num(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined) return '—'
  if (Number.isInteger(v)) return v.toLocaleString(lang.value)
  return v.toLocaleString(lang.value, { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

/** A metric value by its id's kind: rates in %, *_s in time, amounts in ¥. */
export function metric(id: string, v: number | null | undefined): string {
  if (id.endsWith('_rate') || id.endsWith('_share')) return percent(v)
  if (id.endsWith('_s')) return seconds(v)
  if (id.endsWith('_sales') || id.endsWith('_amount') || id === 'aov' || id === 'guide_gmv') return money(v)
  return num(v)
}

export function clock(ts: string | null | undefined): string {
  if (!ts) return ''
  const d = new Date(ts)
  if (Number.isNaN(d.getTime())) return ts
  return d.toLocaleTimeString(lang.value, { hour: '2-digit', minute: '2-digit' })
}

export function dateTime(ts: string | null | undefined): string {
  if (!ts) return ''
  const d = new Date(ts)
  if (Number.isNaN(d.getTime())) return ts
  return d.toLocaleString(lang.value, { month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' })
}

export function isoDay(d: Date): string {
  const y = d.getFullYear()
  const m = String(d.getMonth() + 1).padStart(2, '0')
  const day = String(d.getDate()).padStart(2, '0')
  return `${y}-${m}-${day}`
}

export function daysAgo(n: number): string {
  const d = new Date()
  d.setDate(d.getDate() - n)
  return isoDay(d)
}

/** The store-local date `n` days ago, from the store's UTC offset (`/api/v1/me`): near
 * midnight the browser's own date can be another day than the store's. */
export function storeDaysAgo(n: number, utcOffsetMin: number | undefined): string {
  if (utcOffsetMin === undefined) return daysAgo(n)
  const d = new Date(Date.now() + utcOffsetMin * 60_000)
  d.setUTCDate(d.getUTCDate() - n)
  return d.toISOString().slice(0, 10)
}

/** The numeric part of a transcript id (`m12` → 12), for read receipts. */
export function seqOf(id: string | null | undefined): number {
  if (!id) return 0
  const n = Number(id.slice(1))
  return Number.isFinite(n) ? n : 0
}

/** A stable hue from a string (placeholder product tiles, avatars). */
export function hue(s: string): number {
  let h = 0x811c9dc5 // FNV-1a: neighbouring ids (p1, p2) get far-apart hues
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) // then mix (murmur3's finaliser) so the low bits vary
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return ((h ^ (h >>> 16)) >>> 0) % 360
}
