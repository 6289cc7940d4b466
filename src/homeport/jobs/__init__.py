"""Background work that outlives a request: expiry sweeps (and, later, background responses and webhooks)."""
