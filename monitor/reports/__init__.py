"""Reports: config and store through the SLA engine, to files, statements and gauges."""
