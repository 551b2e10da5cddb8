"""Accounts and tenancy: API tokens of stores' staff, buyer widget tokens, roles."""
