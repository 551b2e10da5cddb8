"""Product-card traffic (商品卡流量, metrics.md §7) and market keywords (市场洞察, §8)."""
