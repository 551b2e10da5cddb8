"""The store's catalogue: CSV/XLSX upload and the product API, all through `product` events."""
