// Buyer chat widget entry: `<script src="/app/widget.js" data-token="b1.…" data-store="…">`.
// It mounts in a shadow root (the shop's CSS cannot break it, nor it the shop's) and exposes
// `window.kefu` = { open, close, toggle, send, sendProduct, setLang }.
import { createApp, reactive } from 'vue'
import { setBase, setToken } from '../lib/api'
import type { Controls, WidgetLang } from './strings'
import Widget from './Widget.vue'
import css from './widget.css?inline'

declare global {
  interface Window {
    kefu?: Controls & { ready: boolean }
  }
}

function findScript(): HTMLScriptElement | null {
  const current = document.currentScript
  if (current instanceof HTMLScriptElement) return current
  return document.querySelector<HTMLScriptElement>('script[src*="widget.js"][data-token]')
}

const script = findScript() // while the script runs: document.currentScript is only set now

function boot(): void {
  const data = script?.dataset ?? {}
  const origin = data.api || (script?.src ? new URL(script.src, location.href).origin : location.origin)
  setBase(origin)
  setToken(data.token ?? '')
  const saved = localStorage.getItem('kefu.widget.lang')
  const lang: WidgetLang =
    data.lang === 'en' || data.lang === 'zh-CN' ? data.lang : saved === 'en' || saved === 'zh-CN' ? saved : 'zh-CN'

  const host = document.createElement('div')
  host.id = 'kefu-widget'
  host.setAttribute('data-store', data.store ?? '')
  document.body.appendChild(host)
  // Phones: the visible height (the keyboard shrinks it) sizes the full-screen chat, so the
  // input stays above the keyboard whatever the shop page's viewport settings.
  const vv = window.visualViewport
  if (vv) {
    const fit = () => host.style.setProperty('--kf-vh', `${Math.round(vv.height)}px`)
    fit()
    vv.addEventListener('resize', fit)
  }
  const root = host.attachShadow({ mode: 'open' })
  const style = document.createElement('style')
  style.textContent = css
  root.appendChild(style)
  const mountPoint = document.createElement('div')
  root.appendChild(mountPoint)

  const state = reactive({ lang, controls: null as Controls | null })
  const app = createApp(Widget, {
    token: data.token ?? '',
    store: data.store ?? '',
    state,
    startOpen: data.open === 'true',
  })
  app.mount(mountPoint)
  const api = state.controls
  if (api) window.kefu = { ...api, ready: true }
  window.dispatchEvent(new CustomEvent('kefu:ready'))
}

if (document.body) boot()
else document.addEventListener('DOMContentLoaded', boot)
