"""The deployment docs name files that exist, and every file in deploy/ is documented."""

from __future__ import annotations

import re

from tests.support.deployfiles import repo_root

ROOT = repo_root()
DOCUMENTS = [ROOT / "README.md", ROOT / "docs" / "deploy.md"]
# Not kubectl's `deploy/watcher` (the Deployment named watcher).
_PATH = re.compile(r"(?<![\w/])deploy/(?!watcher(?![\w.]))[\w./-]*\w")


def test_every_deploy_path_in_the_docs_exists() -> None:
    named = {(doc.name, path) for doc in DOCUMENTS for path in _PATH.findall(doc.read_text())}
    assert len(named) > 10
    # Files the operator creates (deploy/.env, deploy/watcher.env) are git-ignored there.
    local = {f"deploy/{name}" for name in (ROOT / "deploy" / ".gitignore").read_text().split()
             if not name.startswith("#")}
    missing = sorted((doc, path) for doc, path in named
                     if not (ROOT / path).exists() and path not in local)
    assert missing == []


def test_every_deploy_file_is_named_in_docs_deploy() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text()
    named = set(_PATH.findall(text))
    files = [p.relative_to(ROOT).as_posix() for p in (ROOT / "deploy").rglob("*")
             if p.is_file() and p.name != ".gitignore"]
    undocumented = [f for f in files
                    if f not in named and not any(f.startswith(f"{d}/") for d in named)]
    assert undocumented == []
