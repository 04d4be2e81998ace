"""Notifications: incident, maintenance and statement events, delivered once per channel.

Events are recorded in an outbox in the database (`outbox`), keyed by their identity so
several monitors record each once; a dispatcher (`dispatcher`) sends each (event,
channel) in order on its own threads, off the probing path, and marks it sent; channels
(`channels`) are Slack incoming webhooks and SMTP email, messages (`messages`) come from
Jinja2 templates. `service.Notifier` wires it all for `uptime-sla run`.
"""
