"""The canonical form of an item's URL: its identity in the archive.

w3lib's `canonicalize_url` (the function Scrapy itself uses for request
fingerprints) gives the structure; courlan's tracker pattern (the one trafilatura's
link handling uses) says which query parameters only track the visitor. On top of
both, our own rules: a few trackers courlan does not know, default ports dropped,
square brackets of Drupal listing parameters left readable.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from courlan.clean import TRACKERS_RE
from w3lib.url import canonicalize_url

# Trackers courlan's pattern misses (HubSpot, Google Ads, TikTok, LinkedIn, Instagram,
# Wicked Reports, Alibaba), matched case-insensitively on the decoded parameter name.
# Note that courlan's pattern also drops names containing source, ref, keyword, uid,
# session... as trackers.
_MORE_TRACKERS = re.compile(r"^(?:_hs|__hs|hsa_)|^(?:gclsrc|igsh|li_fat_id|spm|ttclid|wickedid)$")

_DEFAULT_PORTS = {"http": 80, "https": 443}


def is_tracking_param(name: str) -> bool:
    """Does the query parameter ``name`` only track the visitor or the campaign?"""
    name = name.strip().lower()
    return bool(TRACKERS_RE.search(name) or _MORE_TRACKERS.search(name))


def canonical_url(url: str) -> str:
    """Canonical form of an absolute URL, used as the item's identity.

    w3lib does the heavy lifting (sorted query, blank values kept, percent-encoding
    re-encoded as uppercase UTF-8 escapes, fragment dropped, dot segments resolved,
    host lowercased, empty path -> "/"); we add tracking-parameter removal and default
    port removal. Square brackets in the query are left unescaped so Drupal listing
    parameters keep their familiar form (``type[0]=press_release``); ``%5B``/``[`` are
    equivalent, so both inputs give the same result.
    """
    url = url.strip()
    scheme, netloc, path, query, _fragment = urlsplit(url)
    if query:
        kept = [
            pair
            for pair in query.split("&")
            if pair and not is_tracking_param(unquote_plus(pair.partition("=")[0]))
        ]
        query = "&".join(kept)
    url = canonicalize_url(urlunsplit((scheme, netloc, path, query, "")), keep_blank_values=True)

    scheme, netloc, path, query, _fragment = urlsplit(url)
    scheme = scheme.lower()
    userinfo, at, hostport = netloc.rpartition("@")
    host, colon, port = hostport.rpartition(":") if not hostport.endswith("]") else ("", "", "")
    if colon and port.isdigit() and _DEFAULT_PORTS.get(scheme) == int(port):
        hostport = host
    netloc = f"{userinfo}{at}{hostport.lower()}"
    query = query.replace("%5B", "[").replace("%5D", "]")
    return urlunsplit((scheme, netloc, path, query, ""))
