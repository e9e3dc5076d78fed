FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    UV_PROJECT_ENVIRONMENT=/opt/haven UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1
WORKDIR /app
RUN useradd --system --uid 10001 --home /app haven
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

RUN mkdir -p /data && chown haven /data
USER haven
ENV HAVEN_HOST=0.0.0.0 \
    HAVEN_PORT=8000 \
    HAVEN_KEY_FILE=/keys/keyring.json \
    HAVEN_AUDIT_CHECKPOINT_FILE=/data/audit-checkpoints.jsonl
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/ready', timeout=2).status == 200 else 1)"
CMD ["sh", "-c", "haven migrate && exec haven serve"]
