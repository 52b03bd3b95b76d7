"""The Scrapy item pipelines (thin adapters over the pure cores of pipelines/), in crawl
order: extract, normalize, dedupe, store, stories, classify; and config.py, the crawl's
configuration that crawler.addons loads once and hands to each of them."""
