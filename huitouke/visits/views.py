"""Pages of return visits (thin: parse -> one service/selector -> render)."""
