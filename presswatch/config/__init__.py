"""presswatch/config."""
