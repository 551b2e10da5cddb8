// GET /insight answers, shared by the tabs for one date range: the performance and the guide
// tabs ask the same questions, and each answer costs the server seconds.
import { get } from '../lib/api'
import { storeApi } from '../lib/session'
import type { Range } from './range'

export type Row = Record<string, number | string | null>
export interface Bench { median: number | null; top10: number | null }
export interface InsightDoc { rows: Row[]; peers?: { tier: string; peers: number } & Record<string, Bench | number | string> }

const cache = new Map<string, Promise<InsightDoc>>()

export function insight(by: 'store' | 'agent' | 'day', range: Range): Promise<InsightDoc> {
  const path = storeApi('/insight')
  const key = `${path}|${range.version}|${range.from}|${range.to}|${by}`
  let answer = cache.get(key)
  if (!answer) {
    answer = get<InsightDoc>(path, { from: range.from, to: range.to, by, peers: by === 'store' ? true : undefined })
    cache.set(key, answer)
    answer.catch(() => cache.delete(key))
    if (cache.size > 30) cache.delete(cache.keys().next().value as string)
  }
  return answer
}
