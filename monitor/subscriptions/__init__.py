"""The subscription service: customers subscribe themselves to incident and maintenance notices.

- `app`: the Starlette application (subscribe, confirm, unsubscribe) and `compose`, which
  builds one ASGI app from several parts' routes (webhook receivers share the listener);
- `forms`: request bodies read within bounds, addresses and components checked;
- `limits`: requests per client address;
- `server`: uvicorn on its own thread and event loop, beside `run`'s probing;
- `exchange`: the subscriber CSV of `subscribers export` and `subscribers import`.
"""
