"""Sealing credentials: a master key, a key per account, authenticated encryption."""
