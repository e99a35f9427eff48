"""The pure core: image references, tag ordering and change rules. No I/O lives here."""
