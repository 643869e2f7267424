"""``rechroma-cluster``: colorize an archive on a Ray cluster (optional extra ``[cluster]``).

A package of its own, beside ``engine``: the engine stays free of Ray (the app and ``rechroma-cli`` never
import it), and this front end uses only the engine's public pieces, so a photo comes out exactly as
``rechroma-cli`` writes it.
"""
