"""What every front end shows: the documents of ``watcher status``, ``check`` and ``history``.

Built as plain data (dicts, strings) from the store's records and a round's report, so the CLI,
and later the web page and message bodies, show the same facts in the same words. Nothing
here prints or knows a terminal; the CLI renders.

    status    the status document, the attention order, why an image is where it is
    check     the document of one check round
    history   the history document and the wording of history entries
    words     short digests and ages, as every front end writes them
"""
