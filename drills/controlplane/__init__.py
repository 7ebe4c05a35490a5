"""The one client of the control-plane service: connections, TLS trust, paths, "healthy".

`connection` (endpoints, keep-alive connections, replies, errors), `trust` (which certificates
are accepted), `every_replica` (fresh connections until each replica answered; pinned
connections), `health` (the single definition of healthy), `paths` (the service's API, shared
with the sandbox's reference service) and `streams` (the flood's raw asyncio connections).

Nothing is imported here: the sandbox's service replicas import `paths` alone, and must not pay
for `httptools` and `ssl` at every start.
"""
