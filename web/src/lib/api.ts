// fetch() with the bearer token, JSON in and out, and errors carrying the server's `detail`.

export class ApiError extends Error {
  readonly status: number
  readonly detail: string
  /** The parsed error body (e.g. a settings 422's `errors` list), null when not JSON. */
  readonly body: unknown

  constructor(status: number, detail: string, body: unknown = null) {
    super(detail)
    this.status = status
    this.detail = detail
    this.body = body
  }
}

let bearer = ''
let base = ''

export function setToken(token: string): void {
  bearer = token
}

export function getToken(): string {
  return bearer
}

/** API origin for embedded use (the widget); '' means the page's own origin. */
export function setBase(url: string): void {
  base = url.replace(/\/$/, '')
}

export function apiUrl(path: string): string {
  return base + path
}

export function wsUrl(path: string): string {
  const origin = base || location.origin
  return origin.replace(/^http/, 'ws') + path
}

type Query = Record<string, string | number | boolean | null | undefined>

function withQuery(path: string, query?: Query): string {
  if (!query) return path
  const q = new URLSearchParams()
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v))
  }
  const s = q.toString()
  return s ? `${path}${path.includes('?') ? '&' : '?'}${s}` : path
}

/** The server's reason: `{detail: "…"}`, FastAPI's validation list, or `{error: "…"}`. */
export function detailOf(body: unknown, status: number): string {
  if (body && typeof body === 'object') {
    const b = body as Record<string, unknown>
    const d = b.detail
    if (typeof d === 'string') return d
    if (Array.isArray(d)) {
      return d
        .map((e) => {
          const item = e as { loc?: unknown[]; msg?: string }
          const loc = (item.loc ?? []).filter((p) => p !== 'body').join('.')
          return loc ? `${loc}: ${item.msg ?? ''}` : (item.msg ?? '')
        })
        .join('; ')
    }
    if (typeof b.error === 'string') return b.error
  }
  return `HTTP ${status}`
}

export interface RequestOptions {
  query?: Query
  body?: unknown
  token?: string
}

async function send(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {}
  const token = opts.token ?? bearer
  if (token) headers.Authorization = `Bearer ${token}`
  // signed in with a password: the server takes cookie-signed writes only with this header
  else headers['X-Requested-With'] = 'kefu'
  let body: string | undefined
  if (opts.body !== undefined) {
    headers['Content-Type'] = 'application/json'
    body = JSON.stringify(opts.body)
  }
  let res: Response
  try {
    res = await fetch(apiUrl(withQuery(path, opts.query)), { method, headers, body })
  } catch {
    throw new ApiError(0, '')
  }
  if (!res.ok) {
    let parsed: unknown = null
    try {
      parsed = await res.json()
    } catch {
      parsed = null
    }
    throw new ApiError(res.status, detailOf(parsed, res.status), parsed)
  }
  return res
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const res = await send(method, path, opts)
  if (res.status === 204) return undefined as T
  const text = await res.text()
  return (text ? JSON.parse(text) : undefined) as T
}

export const get = <T>(path: string, query?: Query) => request<T>('GET', path, { query })
export const post = <T>(path: string, body?: unknown) => request<T>('POST', path, { body: body ?? {} })
export const put = <T>(path: string, body?: unknown) => request<T>('PUT', path, { body: body ?? {} })
export const patch = <T>(path: string, body?: unknown) => request<T>('PATCH', path, { body: body ?? {} })
export const del = <T>(path: string) => request<T>('DELETE', path)

/** GET that answers null on 404 — for endpoints that may not exist on this server yet. */
export async function getOptional<T>(path: string, query?: Query): Promise<T | null> {
  try {
    return await get<T>(path, query)
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null
    throw e
  }
}

/** Download a CSV (or any file) the API serves behind the bearer token. */
export async function download(path: string, query: Query, filename: string): Promise<void> {
  const res = await send('GET', path, { query })
  const blob = await res.blob()
  const url = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = url
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(url), 5000)
}
