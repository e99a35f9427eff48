"""Sources: where the tracked images come from besides the config file: the ``FROM`` lines
of Dockerfiles, compose files, Kubernetes manifests, the images a container engine runs.

A source reads its files or asks its engine and yields image references; it knows neither
the store nor the registry client. ``files`` reads a directory; ``engine`` asks a Docker
Engine API endpoint (Docker, Podman) which containers run which images.
"""
