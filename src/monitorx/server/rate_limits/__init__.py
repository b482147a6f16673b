"""Per-client rate limits: token buckets kept in this process or shared through
Redis, and the middleware that applies them (docs/security.md).

`RedisBuckets` lives in ``monitorx.server.rate_limits.redis_buckets``; it is not
re-exported here so that a server without Redis never imports the client.
"""

from monitorx.server.rate_limits.buckets import Buckets, Decision, MemoryBuckets
from monitorx.server.rate_limits.middleware import RateLimits, client_address

__all__ = ["Buckets", "Decision", "MemoryBuckets", "RateLimits", "client_address"]
