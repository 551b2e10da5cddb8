// Product cards: titles and prices fetched once per id, in batches, cached for the page.
import { reactive } from 'vue'
import type { Product } from './types'

export type Fetcher = (ids: string[]) => Promise<Product[]>

export function productCache(fetcher: Fetcher) {
  const known = reactive(new Map<string, Product | null>())
  const queued = new Set<string>()
  let timer: ReturnType<typeof setTimeout> | undefined

  async function flush(): Promise<void> {
    timer = undefined
    const ids = [...queued]
    queued.clear()
    if (!ids.length) return
    try {
      const got = await fetcher(ids)
      const byId = new Map(got.map((p) => [p.product, p]))
      for (const id of ids) known.set(id, byId.get(id) ?? null)
    } catch {
      for (const id of ids) known.set(id, null)
    }
  }

  function need(ids: (string | null | undefined)[]): void {
    for (const id of ids) {
      if (id && !known.has(id) && !queued.has(id)) queued.add(id)
    }
    if (queued.size && timer === undefined) timer = setTimeout(flush, 15)
  }

  return { known, need }
}
