// A WebSocket that reconnects with back-off and tells its owner when it (re)opens, so the owner
// can re-fetch what it missed while disconnected.
import { ref } from 'vue'

export type SocketState = 'connecting' | 'open' | 'closed'

export interface SocketHandlers {
  message: (data: Record<string, unknown>) => void
  open?: (reconnected: boolean) => void
  refused?: (code: number, reason: string) => void
}

export class LiveSocket {
  readonly state = ref<SocketState>('connecting')
  private ws: WebSocket | null = null
  private tries = 0
  private stopped = false
  private everOpened = false
  private timer: ReturnType<typeof setTimeout> | undefined

  constructor(
    private readonly url: () => string,
    private readonly on: SocketHandlers,
  ) {}

  start(): void {
    this.stopped = false
    this.connect()
  }

  private connect(): void {
    clearTimeout(this.timer)
    this.state.value = 'connecting'
    let ws: WebSocket
    try {
      ws = new WebSocket(this.url())
    } catch {
      this.schedule()
      return
    }
    this.ws = ws
    ws.onopen = () => {
      const again = this.everOpened
      this.everOpened = true
      this.tries = 0
      this.state.value = 'open'
      this.on.open?.(again)
    }
    ws.onmessage = (e: MessageEvent) => {
      let data: unknown
      try {
        data = JSON.parse(String(e.data))
      } catch {
        return
      }
      if (data && typeof data === 'object') this.on.message(data as Record<string, unknown>)
    }
    ws.onclose = (e: CloseEvent) => {
      if (this.ws === ws) this.ws = null
      if (this.stopped) return
      this.state.value = 'closed'
      if (e.code === 4401 || e.code === 4403) {
        this.on.refused?.(e.code, e.reason)
        return
      }
      this.schedule()
    }
  }

  private schedule(): void {
    if (this.stopped) return
    const delay = Math.min(8000, 300 * 2 ** this.tries)
    this.tries += 1
    this.timer = setTimeout(() => this.connect(), delay)
  }

  send(data: unknown): void {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(data))
  }

  /** Drop the connection as a network failure would (it reconnects by itself). */
  drop(): void {
    this.ws?.close()
  }

  stop(): void {
    this.stopped = true
    clearTimeout(this.timer)
    this.ws?.close()
    this.ws = null
  }
}
