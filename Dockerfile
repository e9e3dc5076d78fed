FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
RUN useradd --system --uid 10001 --home /app haven

COPY pyproject.toml README.md ./
COPY api ./api
COPY models ./models
COPY services ./services
COPY migrations ./migrations
RUN pip install .

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
