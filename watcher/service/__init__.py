"""The service: where configuration, registry client, core rules and store meet.

    round       one check round (CheckRound, check_images)
    listing     a round's tag listings (once per repository; fingerprints; ranking)
    writer      a round's one writer (a batch of decisions per transaction)
    inside      what changed inside a moved tag: configs, SBOM packages, precise tag, rebase
    advice      rebuild advice for the files of a source, and rewriting them
    explain     everything known about one image, for ``watcher explain``
    sources     configuration -> the file sources to scan
    report      what a round reports (ImageCheck, RoundReport)
    registries  configuration -> per-host registry settings and credentials
    storage     configuration -> an open store
    summary     a round's log lines: folded failures, then one summary line
    housekeeping  retention as the daemon and `watcher db prune` run it
    engines     the engine sources: their containers' images tracked, each container linked
                as a dependent of its image (``watcher check``)
    engine_watch  the same for the daemon: before each round and on the engines' events
                (and the files sources' reading, kept between rounds)
    file_links  the files sources: their bases tracked, each place that uses one linked
                as a dependent
    notices     a recorded event as a notice: its dependents and, per dependent, what to
                rebuild
    clients     the daemon's registry client, kept from round to round
    lifecycle   what runtime and fleet share: bounded waits at a stop, the delivery
                worker, a finished round's follow-up
    channels    configuration -> the notification channels
    runtime     what ``watcher run`` keeps alive on its one event loop: the store, a
                registry client that lives across rounds, the round schedule; the
                daemon's further long-lived parts (a delivery worker sending
                notifications, an HTTP server) belong beside it

The registry client and the store never meet anywhere else. ``watcher.daemon`` (signals,
the event loop) and the CLI call in here; the names below are the ones they use.
``runtime`` is not imported here: it brings in the scheduler, which only the daemon needs.
"""

from __future__ import annotations

from watcher.service.registries import registry_settings
from watcher.service.report import ImageCheck, RoundReport
from watcher.service.round import CheckRound, check_images, images_to_check
from watcher.service.storage import open_store

__all__ = [
    "CheckRound",
    "ImageCheck",
    "RoundReport",
    "check_images",
    "images_to_check",
    "open_store",
    "registry_settings",
]
