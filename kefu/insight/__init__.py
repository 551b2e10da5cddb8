"""Service insight: metrics of metrics.md over conversations, orders and payments."""
