"""Configured selectors (sources.toml) applied to a page: CSS, or XPath written ``xpath:...``.

A light module (parsel only): the spider uses it on listings in the crawl process, which
never loads the extraction libraries (trafilatura, dateparser) when workers extract.
"""

from __future__ import annotations

from parsel import Selector

# Block elements whose text is one paragraph when a body comes from a selector.
_BLOCK_TAGS = frozenset({"p", "li", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "dt", "dd", "tr"})


def select(selector: Selector, expression: str) -> list[Selector]:
    """Apply a configured selector: CSS, or XPath when written ``xpath:...``."""
    if expression.startswith("xpath:"):
        return list(selector.xpath(expression[len("xpath:") :]))
    return list(selector.css(expression))


def selected_text(selector: Selector, expression: str) -> str:
    """Text of what a selector matches: attribute/text values as they are, elements as paragraphs."""
    return matches_text(select(selector, expression))


def matches_text(matches: list[Selector]) -> str:
    """Text of a selector's matches (see `selected_text`)."""
    parts: list[str] = []
    for match in matches:
        root = match.root
        if isinstance(root, str):
            parts.append(root)
        else:
            parts.append(block_text(match))
    return "\n\n".join(part.strip() for part in parts if part and part.strip())


def block_text(element: Selector) -> str:
    """An element's text, one paragraph per outermost block element (all its text if it has none)."""
    root = element.root
    paragraphs = []
    for node in root.iter():
        if not isinstance(node.tag, str) or node.tag not in _BLOCK_TAGS:
            continue
        # An <li> holding a <p> is one paragraph, not two: skip nested blocks.
        parent = node.getparent()
        nested = False
        while parent is not None and parent is not root:
            if parent.tag in _BLOCK_TAGS:
                nested = True
                break
            parent = parent.getparent()
        if not nested:
            paragraphs.append(" ".join(node.text_content().split()))
    if not paragraphs:
        return " ".join(root.text_content().split())
    return "\n\n".join(paragraph for paragraph in paragraphs if paragraph)
