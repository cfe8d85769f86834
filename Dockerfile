# Production image: the bot and its runtime dependencies only; the demo and test extras stay out.

FROM python:3.11-slim AS build
WORKDIR /src
# Dependencies first, from [project].dependencies alone (never the extras, so moto stays out):
# this layer is rebuilt only when pyproject.toml changes, not on every code change.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && pip wheel --no-cache-dir --wheel-dir /wheels -r /tmp/requirements.txt
# README.md: pyproject.toml names it as the readme, so the build needs it.
COPY README.md ./
COPY bot ./bot
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PORT=3000 \
    IAM_BOT_STATE=sqlite:////data/iam-bot.sqlite3
COPY --from=build /wheels /wheels
# --no-index: offline, from the wheels above; pip fails if a dependency is missing there.
# Fixed uid/gid 10001 so volume ownership and runAsUser policies are predictable.
RUN pip install --no-cache-dir --no-index /wheels/*.whl \
    && rm -rf /wheels \
    && groupadd --gid 10001 iambot \
    && useradd --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin iambot \
    && mkdir /data \
    && chown 10001:10001 /data
USER 10001:10001
# After the chown: a new volume starts as a copy of /data, owner included.
VOLUME /data
EXPOSE 3000
# slim has no curl: ask /healthz with Python's own urllib; change the port via PORT, not --port.
# `serve --socket` answers it on --health-port (default 8080): run that mode with -e PORT=8080.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '3000')}/healthz\", timeout=2)"]
ENTRYPOINT ["iam-bot"]
CMD ["serve"]
