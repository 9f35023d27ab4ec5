"""``synack analyze``: any stack's TCP from a capture, shown the way synack shows its own.

The capture is read as a stream of TCP segments (``capture.py``), grouped
into connections whose two sides' RFC 9293 states are inferred at every
segment (``flows.py``), and turned into the one trace format every view
draws from (``synack.trace``). ``model.py`` holds the types the modules share.
"""
