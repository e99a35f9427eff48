"""Notifiers: how watcher tells people about events, one module per channel (email, a
webhook, a chat service).

A notifier turns an event into a message and sends it; it knows neither the store nor the
registry client (the service hands it what to send and records the outcome). Empty for now:
watcher does not send notifications yet.
"""
