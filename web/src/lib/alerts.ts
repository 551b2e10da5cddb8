// Agent alerts: a short sound, a desktop notification (permission asked once) and the count of
// waiting buyers in the tab title, for new chats, new messages in background conversations and
// urge alerts. Each kind and each channel is switchable per agent (kept in localStorage under
// the agent's own key), so a shared computer keeps every agent's choice.
import { reactive, watch } from 'vue'

export type AlertKind = 'newChat' | 'message' | 'urge'
export interface AlertPrefs {
  newChat: boolean
  message: boolean
  urge: boolean
  sound: boolean
  desktop: boolean
  badge: boolean
}

const DEFAULTS: AlertPrefs = { newChat: true, message: true, urge: true, sound: true, desktop: true, badge: true }
const ASKED = 'kefu.alerts.permissionAsked'

export const alertPrefs = reactive<AlertPrefs>({ ...DEFAULTS })
let prefsKey = ''

/** Load the signed-in agent's choices (and keep saving them as they change). */
export function useAlertPrefs(store: string, agent: string): AlertPrefs {
  prefsKey = `kefu.alerts.${store}.${agent}`
  let saved: Partial<AlertPrefs> = {}
  try {
    saved = JSON.parse(localStorage.getItem(prefsKey) ?? '{}') as Partial<AlertPrefs>
  } catch {
    saved = {}
  }
  Object.assign(alertPrefs, DEFAULTS, saved)
  return alertPrefs
}

watch(alertPrefs, (p) => {
  if (prefsKey) localStorage.setItem(prefsKey, JSON.stringify(p))
})

/** The Notification permission now ('unsupported' when the browser has none). */
export function permission(): NotificationPermission | 'unsupported' {
  return typeof Notification === 'undefined' ? 'unsupported' : Notification.permission
}

/** Ask for desktop notifications once per browser (never nag after a refusal). */
export async function askPermissionOnce(): Promise<void> {
  if (permission() !== 'default' || localStorage.getItem(ASKED)) return
  localStorage.setItem(ASKED, '1')
  try {
    await Notification.requestPermission()
  } catch {
    /* old browsers: callback form only; the agent can still enable it in the browser */
  }
}

let audio: AudioContext | null = null

function beep(): void {
  try {
    audio = audio ?? new AudioContext()
    const osc = audio.createOscillator()
    const gain = audio.createGain()
    osc.type = 'sine'
    osc.frequency.value = 880
    gain.gain.setValueAtTime(0.0001, audio.currentTime)
    gain.gain.exponentialRampToValueAtTime(0.2, audio.currentTime + 0.02)
    gain.gain.exponentialRampToValueAtTime(0.0001, audio.currentTime + 0.35)
    osc.connect(gain).connect(audio.destination)
    osc.start()
    osc.stop(audio.currentTime + 0.4)
  } catch {
    /* no audio device: the other channels still work */
  }
}

/** Alert the agent about `kind` through the channels they keep on. */
export function alertAgent(kind: AlertKind, title: string, body: string, tag: string, onClick?: () => void): void {
  if (!alertPrefs[kind]) return
  if (alertPrefs.sound) beep()
  if (alertPrefs.desktop && permission() === 'granted') {
    try {
      const n = new Notification(title, { body, tag })
      n.onclick = () => {
        window.focus()
        onClick?.()
        n.close()
      }
    } catch {
      /* some platforms allow notifications only from a service worker */
    }
  }
}

let baseTitle = ''

/** `(n) title` while n buyers wait for this agent (and the badge is on); the plain title otherwise. */
export function setTitleBadge(n: number): void {
  if (!baseTitle) baseTitle = document.title.replace(/^\(\d+\)\s*/, '')
  document.title = alertPrefs.badge && n > 0 ? `(${n}) ${baseTitle}` : baseTitle
}

/** Put the title back (leaving the workbench). */
export function clearTitleBadge(): void {
  if (baseTitle) document.title = baseTitle
  baseTitle = ''
}
