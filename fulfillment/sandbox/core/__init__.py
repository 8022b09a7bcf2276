"""The sandbox's shared core: what every imitated Amazon API gets the same way.

- LWA (auth): POST /auth/o2/token trades a refresh token for an access token; every SP-API
  request needs a valid x-amz-access-token or gets 403 Unauthorized.
- Rate limits (ratelimit, operations): one token bucket per operation at the usage plan its
  model's description states; beyond it 429 QuotaExceeded. Every answer carries
  x-amzn-RateLimit-Limit (the operation's rate) and x-amzn-RequestId.
- Faults (faults): latency, 5xx before or after the work, timeouts, throttle storms, aimed at
  operations by name (operations: operationId, or `<model>.<operationId>` where an earlier API
  already uses that operationId).
- Call log, settings and the /_sandbox/ control API (control, sandbox).
- Amazon's models (model) and the seller every API serves (catalogue).
"""
