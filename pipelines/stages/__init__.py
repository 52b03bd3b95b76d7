"""pipelines/stages."""
