"""Automatic urge-to-buy (自动催拍, rules.md §4)."""
