// The widget's own strings (kept apart from the staff app so the widget stays small).
export type WidgetLang = 'zh-CN' | 'en'

const zh = {
  title: '在线客服',
  subtitle: '智能助手 · 人工客服',
  placeholder: '请输入您的问题…',
  send: '发送',
  transfer: '转人工',
  transferHint: '联系人工客服',
  emoji: '表情',
  close: '收起',
  open: '咨询客服',
  queued: '排队中，您前面还有 {ahead} 位',
  queueNext: '排队中，下一位就是您',
  withAgent: '客服 {agent} 正在为您服务',
  agentJoined: '客服 {agent} 为您服务',
  agentTransferred: '已为您转接客服 {agent}',
  agentWho: '客服 {agent}',
  someone: '客服',
  typing: '客服正在输入…',
  read: '已读',
  unread: '未读',
  sending: '发送中',
  failed: '发送失败，点击重试',
  reconnecting: '网络连接中断，正在重新连接…',
  closed: '本次会话已结束',
  bot: '智能助手',
  urge: '客服',
  noToken: '客服组件缺少 data-token，无法连接',
  transferFailed: '暂时无法转接人工客服',
  left: '您已离开排队',
  langSwitch: 'EN',
  consult: '我想咨询这件商品',
  image: '发送图片',
  imageLabel: '图片',
  imageSending: '正在发送图片…',
  imageUnavailable: '图片无法显示',
  imageBadType: '只能发送 JPEG、PNG、WEBP 或 GIF 图片，点击关闭',
  imageTooBig: '图片太大，无法发送，点击关闭',
  imageFailed: '图片发送失败，点击关闭',
}

const en: typeof zh = {
  title: 'Customer service',
  subtitle: 'Assistant · real people',
  placeholder: 'Type your question…',
  send: 'Send',
  transfer: 'Talk to a person',
  transferHint: 'Reach a customer-service agent',
  emoji: 'Emoji',
  close: 'Minimise',
  open: 'Chat with us',
  queued: 'You are in the queue: {ahead} ahead of you',
  queueNext: 'You are in the queue: you are next',
  withAgent: '{agent} is helping you',
  agentJoined: '{agent} joined the chat',
  agentTransferred: 'You were transferred to {agent}',
  agentWho: 'Agent {agent}',
  someone: 'an agent',
  typing: 'Agent is typing…',
  read: 'Read',
  unread: 'Sent',
  sending: 'Sending',
  failed: 'Not sent — tap to retry',
  reconnecting: 'Connection lost — reconnecting…',
  closed: 'This conversation has ended',
  bot: 'Assistant',
  urge: 'Agent',
  noToken: 'The chat widget has no data-token and cannot connect',
  transferFailed: 'No agent can take the chat right now',
  left: 'You left the queue',
  langSwitch: '中',
  consult: 'I have a question about this product',
  image: 'Send an image',
  imageLabel: 'Image',
  imageSending: 'Sending the image…',
  imageUnavailable: 'Image unavailable',
  imageBadType: 'Only JPEG, PNG, WebP or GIF images — tap to dismiss',
  imageTooBig: 'The image is too large to send — tap to dismiss',
  imageFailed: 'The image was not sent — tap to dismiss',
}

export type WidgetKey = keyof typeof zh
export const widgetStrings: Record<WidgetLang, typeof zh> = { 'zh-CN': zh, en }

/** What the widget offers the shop page as `window.kefu`. */
export interface Controls {
  open: () => void
  close: () => void
  toggle: () => void
  send: (text: string) => Promise<void>
  sendProduct: (product: string, text?: string) => Promise<void>
  setLang: (lang: WidgetLang) => void
  drop: () => void
}
