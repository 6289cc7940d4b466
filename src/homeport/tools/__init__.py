"""Server-owned tools: each runs inside the turn loop, emits its own item and events, and hands the model its output.

`registry.py` says which tool types the server owns and builds them from a request's `tools` entries; the turn
loop in `responses/` only sees the `ServerTool` interface of `base.py`.
"""
