"""The daemon's HTTP front end: the read-only status page and its JSON API (``pages``)."""
