// Chat images: upload (the raw file as the body; the server checks type and size and sends
// the message) and authorised display (fetched with the caller's credentials into blob: URLs —
// an <img src> to the API could not carry the bearer token, and image URLs are never public).
import { ApiError, apiUrl, detailOf, getToken } from './api'

export interface AttachmentRef {
  id: string
  type: string
  size?: number
  width?: number
  height?: number
  name?: string
}

export const IMAGE_TYPES = ['image/jpeg', 'image/png', 'image/webp', 'image/gif']
export const IMAGE_ACCEPT = IMAGE_TYPES.join(',')

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const token = getToken()
  return token ? { ...extra, Authorization: `Bearer ${token}` } : extra
}

/** Sends `file` to an upload route (`…/attachments`), with an optional caption. */
export async function uploadImage<T>(path: string, file: Blob, opts: { text?: string; name?: string } = {}): Promise<T> {
  const q = new URLSearchParams()
  if (opts.text) q.set('text', opts.text)
  if (opts.name) q.set('name', opts.name.slice(0, 256))
  const url = apiUrl(q.toString() ? `${path}?${q}` : path)
  let res: Response
  try {
    res = await fetch(url, {
      method: 'POST',
      credentials: 'same-origin',
      headers: headers({ 'Content-Type': IMAGE_TYPES.includes(file.type) ? file.type : 'application/octet-stream' }),
      body: file,
    })
  } catch {
    throw new ApiError(0, '')
  }
  let body: unknown = null
  try {
    body = await res.json()
  } catch {
    body = null
  }
  if (!res.ok) throw new ApiError(res.status, detailOf(body, res.status), body)
  return body as T
}

const cache = new Map<string, Promise<string>>()

/** A blob: URL of an image the API serves behind the caller's credentials (cached: the
 * bytes under an id never change). */
export function imageUrl(path: string): Promise<string> {
  let hit = cache.get(path)
  if (!hit) {
    hit = (async () => {
      const res = await fetch(apiUrl(path), { credentials: 'same-origin', headers: headers() })
      if (!res.ok) throw new ApiError(res.status, `HTTP ${res.status}`)
      return URL.createObjectURL(await res.blob())
    })()
    hit.catch(() => cache.delete(path))
    cache.set(path, hit)
  }
  return hit
}

/** The attachments of a transcript item or live message (ignores anything malformed). */
export function attachmentsOf(i: object): AttachmentRef[] {
  const list = (i as { attachments?: unknown }).attachments
  if (!Array.isArray(list)) return []
  return list.filter((a): a is AttachmentRef => !!a && typeof a === 'object' && typeof (a as AttachmentRef).id === 'string')
}
