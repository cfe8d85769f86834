# Production image: the bot and its runtime dependencies only; the demo and test extras stay out.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
# Wheels for the project and its runtime dependencies; the final stage installs them offline.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PORT=3000 \
    IAM_BOT_STATE=sqlite:////data/iam-bot.sqlite3
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl \
    && rm -rf /wheels \
    && useradd --uid 10001 --no-create-home --shell /usr/sbin/nologin iambot \
    && mkdir /data \
    && chown iambot /data
USER 10001
VOLUME /data
EXPOSE 3000
# slim has no curl: ask /healthz with Python's own urllib.
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ.get('PORT', '3000')}/healthz\", timeout=2)"]
ENTRYPOINT ["iam-bot"]
CMD ["serve"]
