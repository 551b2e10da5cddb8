// The demo shop page: a product grid and the chat widget embedded with its one script tag.
// Open it as /app/shop.html?token=<buyer token> (`kefu token buyer --store S --buyer B`).

interface Product { product: string; title: string; price: number; category: string }

const params = new URLSearchParams(location.search)
const token = params.get('token') ?? ''
const store = params.get('store') ?? ''
const grid = document.getElementById('products') as HTMLElement
const snippet = document.getElementById('snippet') as HTMLElement

function hue(s: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619)
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) // then mix (murmur3's finaliser) so the low bits vary
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35)
  return ((h ^ (h >>> 16)) >>> 0) % 360
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls: string, text = ''): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag)
  e.className = cls
  e.textContent = text
  return e
}

function render(products: Product[]): void {
  grid.replaceChildren()
  if (!products.length) {
    grid.append(el('div', 'note', '本店暂无在售商品（用 product 事件建立商品目录）· No products on sale yet'))
    return
  }
  for (const p of products) {
    const card = el('div', 'item')
    card.dataset.product = p.product
    const img = el('div', 'img', (p.category || p.title).slice(0, 1))
    img.style.background = `hsl(${hue(p.product)} 55% 55%)`
    const info = el('div', 'info')
    info.append(el('div', 'title', p.title), el('div', 'price', `¥${p.price.toFixed(2)}`))
    const ask = el('button', 'ask', '咨询客服')
    ask.dataset.ask = p.product
    ask.addEventListener('click', () => void window.kefu?.sendProduct(p.product))
    info.append(ask)
    card.append(img, info)
    grid.append(card)
  }
}

async function loadProducts(): Promise<void> {
  const res = await fetch('/api/v1/buyer/products?limit=12', { headers: { Authorization: `Bearer ${token}` } })
  if (!res.ok) return
  const body = (await res.json()) as { items: Product[]; name?: string; store?: string }
  if (body.name) (document.getElementById('shop-name') as HTMLElement).textContent = body.name
  if (body.store) snippet.textContent = snippetFor(body.store)
  render(body.items)
}

function snippetFor(s: string): string {
  return `<script src="${location.origin}/app/widget.js" data-store="${s}" data-token="${token.slice(0, 12)}…"></script>`
}

function embed(): void {
  const tag = document.createElement('script')
  tag.src = '/app/widget.js'
  tag.dataset.token = token
  if (store) tag.dataset.store = store
  document.body.appendChild(tag)
  snippet.textContent = snippetFor(store || '…')
}

if (!token) {
  const note = el('div', 'note', '在地址后加上 ?token=<买家令牌>（kefu token buyer --store 店铺 --buyer 买家）即可打开演示。 Add ?token=<buyer token> to the address to open the demo.')
  grid.replaceWith(note)
  snippet.textContent = '<script src="/app/widget.js" data-store="STORE" data-token="BUYER_TOKEN"></script>'
} else {
  embed()
  void loadProducts()
}
