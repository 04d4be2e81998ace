"""The report and statements as documents: JSON, CSV, Markdown and HTML."""
