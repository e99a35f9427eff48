"""The daemon's HTTP front end: health, readiness, metrics and push hooks (``server``), and
the read-only status page with its JSON API (``pages``)."""
