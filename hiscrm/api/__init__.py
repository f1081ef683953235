"""The Starlette app: IM API, admin API, admin console, live feed. Reads LMDB only; writes append facts."""
