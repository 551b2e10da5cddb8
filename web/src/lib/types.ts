// Shapes of the API's JSON: aliases of the types generated from the server's OpenAPI document
// (`kefu openapi` → openapi.json → `npm run api-types` → api-schema.ts, both made by the
// build, never edited). A response model of the server is the one place a shape changes.
import type { components } from './api-schema'

type Schemas = components['schemas']

export type Me = Schemas['Me']

/** A page of items; `next_after` is the cursor of the next page (null or absent: the last). */
export type Page<T> = Omit<Schemas['TranscriptPage'], 'items'> & { items: T[] }

export type ConversationView = Schemas['ConversationView']

/** A transcript item: a message (`m<seq>`) or an action (`a<seq>`) with its type's fields. */
export type Item = Schemas['TranscriptItem'] & { [key: string]: unknown }

/** A product card (`/products`, `/buyer/products`). */
export type Product = Schemas['ProductCard']

/** What a write did: its conversation and the actions it produced for the caller. */
export type Posted = Omit<Schemas['Posted'], 'actions'> & { actions: Item[] }

export type AgentRow = Schemas['AgentRow']

export type Order = Schemas['OrderOut']

export type QuickReply = Schemas['QuickReplyOut']

export type Note = Schemas['NoteOut']

/** A row of the admin's Agents page (GET /stores/{store}/staff). */
export type StaffRow = Schemas['AgentOut']

/** An invitation (its code and link only right after creation). */
export type InvitationRow = Schemas['InvitationOut']

/** One account audit entry: who changed what, when, before and after. */
export type AuditRow = Schemas['AuditOut']

/** The workbench's view of a conversation's latest `guide.panel` action (read from the
 * transcript or the live socket) — a client-side shape, not a response body. */
export interface GuidePanel {
  id?: string
  conversation: string
  buyer: string
  agent: string
  products: string[]
  intent: number
  ts?: string
}
