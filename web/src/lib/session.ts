// Who is signed in: the staff token (kept in localStorage) resolved by GET /api/v1/me.
import { computed, reactive } from 'vue'
import { ApiError, get, post, setToken } from './api'
import type { Me } from './types'

const KEY = 'kefu.token'

export const session = reactive({
  token: localStorage.getItem(KEY) ?? '',
  me: null as Me | null,
})

setToken(session.token)

export const isSupervisor = computed(() => ['supervisor', 'admin'].includes(session.me?.role ?? ''))

export async function login(token: string): Promise<Me> {
  const clean = token.trim()
  setToken(clean)
  try {
    const me = await get<Me>('/api/v1/me')
    if (me.role === 'buyer') throw new ApiError(403, 'buyer')
    session.me = me
    session.token = clean
    localStorage.setItem(KEY, clean)
    return me
  } catch (e) {
    setToken(session.token)
    throw e
  }
}

/** Sign in with e-mail/phone and password: the server sets an HttpOnly session cookie. */
export async function signIn(login: string, password: string): Promise<Me> {
  await post('/api/v1/auth/login', { login: login.trim(), password })
  setToken('')
  session.token = ''
  localStorage.removeItem(KEY)
  return restore()
}

/** Who the session cookie (if any) belongs to; throws when there is none. */
export async function restore(): Promise<Me> {
  const me = await get<Me>('/api/v1/me')
  if (me.role === 'buyer') throw new ApiError(403, 'buyer')
  session.me = me
  return me
}

export function logout(): void {
  if (!session.token) void post('/api/v1/auth/logout').catch(() => undefined)
  session.me = null
  session.token = ''
  setToken('')
  localStorage.removeItem(KEY)
}

/** Sign out on every device (every web session of this account). */
export async function logoutEverywhere(): Promise<number> {
  const res = await post<{ revoked: number }>('/api/v1/auth/logout-all')
  logout()
  return res.revoked
}

export const isAdmin = computed(() => session.me?.role === 'admin')

/** `/api/v1/stores/{store}` + path, for the signed-in store. */
export function storeApi(path = ''): string {
  const store = session.me?.store ?? ''
  return `/api/v1/stores/${encodeURIComponent(store)}${path}`
}
