// Who is signed in: the staff token (kept in localStorage) resolved by GET /api/v1/me.
import { computed, reactive } from 'vue'
import { ApiError, get, setToken } from './api'
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

export function logout(): void {
  session.me = null
  session.token = ''
  setToken('')
  localStorage.removeItem(KEY)
}

/** `/api/v1/stores/{store}` + path, for the signed-in store. */
export function storeApi(path = ''): string {
  const store = session.me?.store ?? ''
  return `/api/v1/stores/${encodeURIComponent(store)}${path}`
}
