"""Probing: one request of one target over one family, and the schedule that runs them."""
