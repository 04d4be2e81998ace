"""The metrics /metrics serves: every name, label and collector."""
