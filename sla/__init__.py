"""The SLA engine: from per-slice probe rollups to monthly availability and credits.

Pure code (no database, network, clock or files); the rules are explained in docs/concepts.md.
Import from the modules (`sla.engine`, `sla.slices`, ...): this package imports nothing, so
`import sla.vocabulary` (the command line's word lists) does not pay for numpy and the engine.
"""
