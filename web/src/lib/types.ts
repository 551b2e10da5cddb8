// Shapes of the API's JSON (see docs/api.md and /docs on a running server).

export interface Me {
  store: string
  role: string
  agent: string | null
  buyer: string | null
  /** The store's timezone and UTC offset now: report days are the store's days. */
  timezone: string
  utc_offset_min: number
  today: string
  /** Display names (ids stay in tooltips). */
  store_name?: string
  agent_name?: string | null
}

export interface Page<T> {
  items: T[]
  next_after: string | null
}

export interface ConversationView {
  conversation: string
  buyer: string
  agent: string | null
  state: 'assigned' | 'queued'
  group: string | null
  opened: string
  handed: string | null
  waiting_since: string | null
  waiting_s: number
  over_3min: boolean
  pending: number
  queue_position: number | null
  last_text: string
}

/** A transcript item: a message (`m<seq>`) or an action (`a<seq>`). */
export interface Item {
  id: string
  type: string
  ts: string
  sender?: string
  agent?: string | null
  text?: string | null
  product?: string | null
  products?: string[] | null
  outcome?: string
  position?: number | null
  reason?: string
  transfer_button?: boolean
  intent?: number
  waited_s?: number
  conversation?: string
  buyer?: string
  [key: string]: unknown
}

export interface Product {
  product: string
  title: string
  price: number
  category: string
  status: string
  stock: number | null
  url?: string | null
}

export interface Posted {
  conversation: string | null
  actions: Item[]
}

export interface AgentRow {
  agent: string
  name: string
  role: string
  status: string
  groups: string[]
  capacity: number
  open: number
}

export interface Order {
  order: string
  amount: number
  status: string
  created: string
  paid: string | null
  items: { product: string; qty: number; price: number; title?: string }[]
}

export interface QuickReply {
  id: number
  shortcut: string
  text: string
  scope: 'store' | 'mine'
}

export interface Note {
  id: string
  agent: string | null
  text: string
  created?: string
}

export interface GuidePanel {
  id?: string
  conversation: string
  buyer: string
  agent: string
  products: string[]
  intent: number
  ts?: string
}

/** A row of the admin's Agents page (GET /stores/{store}/staff). */
export interface StaffRow {
  agent: string
  name: string
  role: string
  groups: string[]
  capacity: number | null
  status: string
  open: number
  enabled: boolean
  login: string | null
  has_account: boolean
  locked_until_ms: number | null
}

/** An invitation (its code and link only right after creation). */
export interface InvitationRow {
  id: number
  agent: string
  name: string
  role: string
  groups: string[]
  capacity: number | null
  created_by: string
  created_ms: number
  expires_ms: number
  used_ms: number | null
  state: 'pending' | 'used' | 'revoked' | 'expired'
  code?: string | null
  url?: string | null
}

/** One account audit entry: who changed what, when, before and after. */
export interface AuditRow {
  id: number
  actor: string
  agent: string
  action: string
  before: Record<string, unknown> | null
  after: Record<string, unknown> | null
  ts_ms: number
}
