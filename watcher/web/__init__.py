"""The daemon's HTTP front end: health, readiness, metrics and push hooks (``server``)."""
