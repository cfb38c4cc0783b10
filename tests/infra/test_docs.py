"""README.md and docs/ link only inside the repository, and every link resolves: the file exists and,
for a link to a heading, the heading does (as GitHub makes anchors of headings)."""

from __future__ import annotations

import re

from infra.config import ROOT

LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(markdown: str) -> set[str]:
    headings = re.findall(r"^#+\s+(.+)$", markdown, re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


def test_every_link_of_the_docs_stays_in_the_repository_and_resolves():
    pages = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    checked = 0
    for page in pages:
        for target in LINK.findall(page.read_text()):
            assert not re.match(r"^[a-z]+:", target), f"{page.name} links outside the repository: {target}"
            path, _, anchor = target.partition("#")
            resolved = (page.parent / path).resolve() if path else page
            assert resolved.exists(), f"{page.name}: {target} does not exist"
            assert ROOT in resolved.parents or resolved == ROOT, f"{page.name}: {target} leaves the repository"
            if anchor and resolved.suffix == ".md":
                assert anchor in anchors(resolved.read_text()), f"{page.name}: no heading #{anchor} in {path or page.name}"
            checked += 1
    assert checked > 30
