"""Smart shopping guide: purchase intent and complementary recommendations (rules.md §3)."""
