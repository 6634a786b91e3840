# The bot workers and the API (Python 3.11). Front-end assets are built in the image.
FROM python:3.11-slim
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /srv/antam
COPY pyproject.toml README.md ./
COPY bot bot
COPY common common
COPY content content
COPY nlu/lexicon nlu/lexicon
COPY web web
RUN pip install --no-cache-dir . && cd web && npm ci --no-audit --no-fund && node build.mjs
ENV ANTAM_HOME=/srv/antam ANTAM_VAR_DIR=/var/lib/antam
RUN useradd --system antam && mkdir -p /var/lib/antam && chown antam /var/lib/antam
USER antam
