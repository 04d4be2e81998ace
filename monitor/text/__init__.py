"""Text on its way out: secrets redacted, operator and customer text made safe per sink."""
