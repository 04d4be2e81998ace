"""What other tools get from the monitor: Prometheus rules, Grafana dashboards, silences."""
