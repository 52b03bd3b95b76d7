"""Topic classification and the public feeds: RSS 2.0, Atom 1.0, OPML and an HTML index.

topics.py (the topics.toml model), classify.py (which items belong to which
topics), build.py (feeds from archive rows), opml.py, index.py, publish.py
(writing public/), serve.py (the HTTP server) and cli.py (the commands).
"""
