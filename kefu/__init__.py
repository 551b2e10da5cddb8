"""kefu: an open-source customer-service platform for e-commerce stores."""

__version__ = "0.1.0"
