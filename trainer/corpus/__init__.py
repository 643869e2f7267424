"""Data acquisition, apart from training: licensed photos gathered from packages (gather, sources, rcc), judged
(photo_filter), packed into one file (pack), and the independent held-out set (holdout)."""
