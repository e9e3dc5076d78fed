# Pinned by version tag; for production pin the digest too (see docker-compose.yml).
FROM python:3.11.14-slim-bookworm

# PostgreSQL 16 client tools (`haven backup`/`haven restore` run pg_dump/pg_restore), from the
# PostgreSQL project's apt repository: they must be at least the server's major version (the
# compose file runs postgres:16), and Debian bookworm itself ships 15.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && install -d /usr/share/postgresql-common/pgdg \
 && curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc \
      https://www.postgresql.org/media/keys/ACCC4CF8.asc \
 && echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt bookworm-pgdg main" \
      > /etc/apt/sources.list.d/pgdg.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client-16 \
 && apt-get purge -y curl && apt-get autoremove -y && rm -rf /var/lib/apt/lists/*

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    UV_PROJECT_ENVIRONMENT=/opt/haven UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1
WORKDIR /app
RUN groupadd --system --gid 10001 haven \
 && useradd --system --uid 10001 --gid 10001 --home /app haven
# The same pinned uv as the Makefile; it installs exactly what uv.lock records, hashes checked.
RUN pip install 'uv==0.13.9'

COPY pyproject.toml uv.lock README.md ./
COPY api ./api
COPY models ./models
COPY services ./services
COPY migrations ./migrations
# The runtime only (no dev extra), as a regular (not editable) install; --locked refuses a
# uv.lock that does not match pyproject.toml.
RUN uv sync --locked --no-editable
ENV PATH=/opt/haven/bin:$PATH

# /keys and /checkpoints belong to the service user: a named volume mounted there starts as a
# copy of the image's folder (owner and mode included), so `haven migrate` can create the
# keyring. A bind mount keeps the host folder's owner: create it owned by uid 10001.
RUN install -d -m 700 -o haven -g haven /keys \
 && install -d -m 750 -o haven -g haven /checkpoints /backups
USER haven
ENV HAVEN_HOST=0.0.0.0 \
    HAVEN_PORT=8000 \
    HAVEN_KEY_FILE=/keys/keyring.json \
    HAVEN_AUDIT_CHECKPOINT_FILE=/checkpoints/audit-checkpoints.jsonl
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=2).status == 200 else 1)"
CMD ["sh", "-c", "haven migrate && exec haven serve"]
