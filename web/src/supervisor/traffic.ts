// Helpers of the card-traffic and keyword tabs (metrics.md §7–§8): the answers' shapes, how each
// `card_` id is written (rates in %, money in ¥, null as —) and a client-side table sort.
import { computed, ref, type Ref } from 'vue'
import { money, num, percent } from '../lib/format'
import { t } from '../lib/i18n'
import { compareBy } from '../lib/sort'

export type Values = Record<string, number | null>
export interface Compared { current: Values; previous: Values; change: Values }
export interface Period {
  from: string
  to: string
  previous_from: string
  previous_to: string
  /** The store's first day with card data; the previous period is partial when it starts
   * before it (no percentage is shown then). */
  data_from?: string | null
  previous_complete?: boolean
  totals: Compared
  sources?: Record<string, Compared>
}
export interface Rows { rows: (Values & { product?: string; day?: string; source?: string })[] }
export interface Step { step: string; users: number; rate: number | null }
export interface Funnel { product: string; metrics: Values; funnel: Step[]; sources: Record<string, { metrics: Values; funnel: Step[] }> }
export interface Today {
  day: string
  yesterday: string
  until: string
  hours: { hour: string; today: Values | null; yesterday: Values }[]
  totals: { today: Values; yesterday_same_time: Values; change: Values }
}
export type Counts = Record<string, Record<string, number>>
export interface AudienceGroup { buyers: number; bought: Counts; not_bought: Counts }
export interface Audience { all: AudienceGroup; sources: Record<string, AudienceGroup> }
export interface Churn {
  source: string | null
  card_churned_users: number
  card_click_users: number
  bought_elsewhere_users: number | null
  categories: { category: string; clicked_here: boolean; buyers: number; orders: number; gmv: number; avg_item_amount: number | null }[]
  suppressed_buyers: number | null
  thresholds: { min_stores: number; min_buyers: number }
}
export interface Keyword {
  keyword: string
  days: number
  search_popularity: number | null
  online_products: number | null
  competition: number | null
  click_share: number | null
  rank_popularity: number | null
  rank_competition: number | null
  rank_click_share: number | null
}
export interface Ranking { from: string | null; to: string | null; window: number; keywords: Keyword[] }
export interface Suggestion extends Keyword { matched: string[]; missing: string[]; score: number }
export interface Suggestions { product: string | null; title: string; from: string | null; to: string | null; suggestions: Suggestion[] }

/** The contract's sources, in its order (events.md). */
export const SOURCES = ['search', 'shop', 'recommend', 'cart', 'orders', 'chat', 'other']
/** One colour per source, the same in every chart. */
export const SOURCE_COLORS: Record<string, string> = {
  search: '#2563eb', shop: '#7c3aed', recommend: '#12a150', cart: '#f59e0b', orders: '#0891b2', chat: '#db2777', other: '#64748b',
}
export const AUDIENCE = ['province', 'gender', 'age_band', 'customer']
const RATES = new Set(['card_ctr', 'card_click_to_pay_rate', 'click_share'])
const MONEY = new Set(['card_gmv', 'card_aov', 'card_uv_value', 'gmv', 'avg_item_amount'])

/** A §7/§8 value as the page shows it; null (no denominator) is "—". */
export function fmt(id: string, v: number | null | undefined): string {
  if (v === null || v === undefined) return '—'
  if (RATES.has(id)) return percent(v)
  if (MONEY.has(id)) return money(v)
  if (id === 'competition') return v >= 0.1 || v === 0 ? v.toFixed(2) : v.toPrecision(2)
  if (id === 'search_popularity' || id === 'online_products') return num(Number.isInteger(v) ? v : Math.round(v * 10) / 10, 1)
  return num(v)
}

/** A relative change as "+75.0%" / "−20.0%"; null (previous 0) is "—". */
export function signed(v: number | null | undefined): string {
  if (v === null || v === undefined) return '—'
  const s = percent(Math.abs(v))
  return v > 0 ? `+${s}` : v < 0 ? `−${s}` : s
}

/** 'up' / 'down' colouring of a change; churn going up is bad news. */
export function tone(id: string, v: number | null | undefined): string {
  if (!v) return ''
  const good = id === 'card_churned_users' ? v < 0 : v > 0
  return good ? 'up' : 'down'
}

export function sourceLabel(s: string): string {
  const k = `tr.src.${s}`
  const v = t(k)
  return v === k ? s : v
}

/** An audience value in words (gender codes, new/returning, unknown); others as they are. */
export function valueLabel(attr: string, v: string): string {
  if (v === 'unknown') return t('tr.unknown')
  if (attr === 'gender' || attr === 'customer') return t(`tr.${attr}.${v}`)
  return v
}

/** Every day of `from` … `to` (at most 400), for charts that show days without traffic. */
export function daysOf(from: string, to: string): string[] {
  const out: string[] = []
  const d = new Date(`${from}T00:00:00Z`)
  const end = new Date(`${to}T00:00:00Z`)
  while (d <= end && out.length < 400) {
    out.push(d.toISOString().slice(0, 10))
    d.setUTCDate(d.getUTCDate() + 1)
  }
  return out
}

/** Sources present in a period, current or previous, in the contract's order. */
export function sourcesOf(keys: Iterable<string>): string[] {
  const have = new Set(keys)
  return [...SOURCES.filter((s) => have.has(s)), ...[...have].filter((s) => !SOURCES.includes(s)).sort()]
}

/** A table sorted by one column (click again to reverse); empty values last either way. */
export function useSort<R extends Record<string, unknown>>(rows: Ref<R[] | null>, initial: string, initialDesc = true) {
  const key = ref(initial)
  const desc = ref(initialDesc)
  function by(k: string, firstDesc = true): void {
    if (key.value === k) desc.value = !desc.value
    else {
      key.value = k
      desc.value = firstDesc
    }
  }
  const sorted = computed<R[]>(() => [...(rows.value ?? [])].sort(compareBy<R>(key.value, desc.value)))
  return { key, desc, by, sorted }
}
