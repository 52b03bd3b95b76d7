"""presswatch/cli."""
