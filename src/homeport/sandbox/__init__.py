"""Containers for code_interpreter: a confined, stateful Python process per container, its files, expiry."""
