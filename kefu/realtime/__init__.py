"""Realtime fan-out of messages and actions to WebSocket clients, within and across processes."""
