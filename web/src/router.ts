// Routes under /app/. A `?token=` on any URL signs in (the demo prints such links) and is then
// removed from the address bar; pages need a signed-in staff token.
import { createRouter, createWebHistory } from 'vue-router'
import { isAdmin, isSupervisor, login, restore, session } from './lib/session'
import LoginView from './views/LoginView.vue'
import WorkbenchView from './views/WorkbenchView.vue'

export const router = createRouter({
  history: createWebHistory('/app/'),
  routes: [
    { path: '/', name: 'home', redirect: () => (isSupervisor.value ? '/supervisor' : '/workbench') },
    { path: '/login', name: 'login', component: LoginView, meta: { public: true } },
    { path: '/invite', name: 'invite', component: () => import('./views/InviteView.vue'), meta: { public: true } },
    { path: '/agents', name: 'agents', component: () => import('./views/AgentsView.vue'), meta: { admin: true } },
    { path: '/workbench', name: 'workbench', component: WorkbenchView },
    {
      path: '/supervisor/:tab?',
      name: 'supervisor',
      component: () => import('./views/SupervisorView.vue'),
      meta: { supervisor: true },
    },
    { path: '/settings', name: 'settings', component: () => import('./views/SettingsView.vue'), meta: { supervisor: true } },
    { path: '/products', name: 'products', component: () => import('./views/ProductsView.vue'), meta: { supervisor: true } },
    { path: '/webhooks', name: 'webhooks', component: () => import('./views/WebhooksView.vue'), meta: { supervisor: true } },
    { path: '/:rest(.*)*', redirect: '/' },
  ],
})

let cookieChecked = false // a password sign-in lives in an HttpOnly cookie: ask /me once

router.beforeEach(async (to) => {
  const fromUrl = typeof to.query.token === 'string' ? to.query.token : ''
  if (fromUrl) {
    const query = { ...to.query }
    delete query.token
    try {
      await login(fromUrl)
    } catch {
      return { name: 'login', query: { redirect: to.path } }
    }
    return { path: to.path, query, hash: to.hash, replace: true }
  }
  if (!session.me && session.token) {
    try {
      await login(session.token)
    } catch {
      /* stale token: sign in again */
    }
  }
  if (!session.me && !session.token && !cookieChecked) {
    cookieChecked = true
    try {
      await restore()
    } catch {
      /* no session cookie: sign in */
    }
  }
  if (to.meta.public) return true
  if (!session.me) return { name: 'login', query: { redirect: to.fullPath } }
  if (to.meta.supervisor && !isSupervisor.value) return { name: 'workbench' }
  if (to.meta.admin && !isAdmin.value) return { name: 'workbench' }
  return true
})
