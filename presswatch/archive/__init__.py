"""presswatch/archive."""
