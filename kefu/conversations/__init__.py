"""Conversations: the bot, the talk-to-a-person entry, routing and the queue (rules.md §1–§2)."""
