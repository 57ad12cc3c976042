"""The debtor's pay page, served by ``dunning serve`` (Starlette, Jinja2, babel; uvicorn).

A caller of the use cases like the CLI: ``app`` builds the ASGI application over a workspace's store,
``i18n`` holds the page's words in nl, fr, de and en, ``security`` the headers, rate limits and the
access log without tokens, ``serve`` runs it under uvicorn.
"""
