"""``synack web``: the playground, synack's engine running in the browser under Pyodide.

``playground.py`` is what the page calls (standard library only: it runs in
Pyodide); ``site.py`` writes the static site (the page from ``static/``,
synack's sources, the npm package ``pyodide``); ``serve.py`` serves it on
127.0.0.1; ``cli.py`` is the command. docs/playground.md is the guide.
"""
