"""`chorale studio`: a local web page to write, hear, see, harmonize and regenerate chorales.

`server.create_app()` is the Starlette app (it calls the Python API only); `server.serve()`
runs it under uvicorn on 127.0.0.1. `handling` holds what every request needs (who may ask,
reading, fields, uploads, errors, the work's lanes and cancellation); `pieces` turns a
piece into JSON and back. The page (static/) is plain HTML, CSS and JavaScript
modules shipped inside the package: no CDN, no build step, nothing fetched from outside.
Nothing here is imported by `import chorale` or `chorale --help`.
"""
