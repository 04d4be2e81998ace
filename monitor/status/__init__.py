"""The public status page: its state (`state`), its files (`site`) and `run`'s refresher.

`state.StatusBuilder` computes everything the page shows from the config and the store,
through the same SLA rules as the report; notifications read the same state.
"""
