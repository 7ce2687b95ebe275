"""gunicorn settings for production: ``gunicorn -c deploy/gunicorn.conf.py config.wsgi``.

Every value can be overridden from the environment (see deploy/README.md). The app servers are
stateless: sessions and cache live in Redis (REDIS_URL), data in PostgreSQL (DATABASE_URL).
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "sync" if threads == 1 else "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))  # exports of large member lists
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))  # recycle workers: bounded memory
max_requests_jitter = 200
preload_app = True
# nginx on the same host is the only proxy whose X-Forwarded-* headers are trusted.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
proxy_allow_ips = forwarded_allow_ips
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# No query strings in the access log: filters of member searches can hold personal data.
access_log_format = '%(h)s "%(m)s %(U)s %(H)s" %(s)s %(b)s %(L)ss "%(a)s"'
limit_request_line = 8190
limit_request_fields = 100
