"""Fetch the text of a web page, from the snapshot that ships with the flow whenever possible.

The snapshot (page_snapshots.json: url -> page text) makes every run reproducible and lets the
flow run with no network at all. A live fetch is the last resort, for a URL the snapshot lacks,
and is never attempted when LLMOPS_OFFLINE is set. Any failure yields NO_CONTENT rather than an
error, so the classifier still answers from the URL alone.
"""

from __future__ import annotations

import json
import logging
import os
import re
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from urllib.request import Request, urlopen

from promptflow.core import tool

SNAPSHOT_FILE = Path(__file__).with_name("page_snapshots.json")
OFFLINE_ENV_VAR = "LLMOPS_OFFLINE"
# Values that read as "not set": a CI matrix often passes LLMOPS_OFFLINE=0 or an empty string.
ONLINE_VALUES = frozenset({"", "0", "false", "no"})
NO_CONTENT = "No page content available."
LIVE_FETCH_TIMEOUT_SECONDS = 3
# About 250 tokens: enough for the summary, small enough for a 1.5B model on 2 CPU threads.
MAX_CONTENT_CHARS = 1000
MAX_DOWNLOAD_BYTES = 1_000_000

logger = logging.getLogger(__name__)


def normalize_url(url: str) -> str:
    """Key under which two spellings of the same address match: case-less scheme and host, no
    fragment, no trailing slash."""
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), path, parts.query, ""))


@lru_cache(maxsize=1)
def snapshot_index() -> dict[str, str]:
    """The snapshot keyed by normalized URL; read once per process, shared by every line."""
    with SNAPSHOT_FILE.open(encoding="utf-8") as snapshot_file:
        pages: dict[str, str] = json.load(snapshot_file)
    return {normalize_url(url): text for url, text in pages.items()}


def offline() -> bool:
    return os.environ.get(OFFLINE_ENV_VAR, "").strip().lower() not in ONLINE_VALUES


class _TextExtractor(HTMLParser):
    """Collects the visible text of an HTML document, skipping scripts and styles."""

    _SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED_TAGS:
            self._skip_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED_TAGS and self._skip_depth:
            self._skip_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.chunks.append(data)


def html_to_text(html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(html)
    extractor.close()
    return re.sub(r"\s+", " ", " ".join(extractor.chunks)).strip()


def fetch_live(url: str) -> str:
    """Download the page and return its first MAX_CONTENT_CHARS characters of visible text."""
    scheme = urlsplit(url).scheme.lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"scheme '{scheme}' is not http or https")
    request = Request(url, headers={"User-Agent": "Mozilla/5.0 (llmops web_classification)"})
    with urlopen(request, timeout=LIVE_FETCH_TIMEOUT_SECONDS) as response:
        charset = response.headers.get_content_charset() or "utf-8"
        html = response.read(MAX_DOWNLOAD_BYTES).decode(charset, errors="replace")
    text = html_to_text(html)[:MAX_CONTENT_CHARS]
    if not text:
        raise ValueError("the page has no visible text")
    return text


@tool
def fetch_text_content_from_url(url: str) -> str:
    text = snapshot_index().get(normalize_url(url))
    if text is not None:
        return text
    if offline():
        logger.info("'%s' is not in %s and %s is set: no live fetch",
                    url, SNAPSHOT_FILE.name, OFFLINE_ENV_VAR)
        return NO_CONTENT
    try:
        return fetch_live(url)
    except Exception as error:  # noqa: BLE001 - any failure must degrade to URL-only classification
        logger.warning("could not fetch '%s' (%s: %s); classifying from the URL alone",
                       url, type(error).__name__, error)
        return NO_CONTENT
