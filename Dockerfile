# The bot in a container: `python -m bot run`, checked by `python -m bot healthcheck`.
#   docker build -t jitsi-meeting-bot .
# Beside docker-jitsi-meet, with PostgreSQL: deploy/docker-compose.yml (see the README).

FROM python:3.11-slim AS build
# What the wheel is built from (setup.py compiles the catalogs into it), and the one script
# that builds and installs it: tests/test_deploy_files.py runs the same script.
COPY pyproject.toml setup.py MANIFEST.in README.md babel.cfg /src/
COPY bot /src/bot
COPY storage /src/storage
COPY deploy/install.sh /src/deploy/install.sh
RUN PIP_NO_CACHE_DIR=1 sh /src/deploy/install.sh /src /opt/venv

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /data meetbot \
    && mkdir /data && chown meetbot:meetbot /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/meetings.db
# SQLite's file lives here; with PostgreSQL (DATABASE_URL) nothing is written at all.
WORKDIR /data
VOLUME ["/data"]
USER meetbot
# Unhealthy when the database does not answer or no delivery sweep ran for two minutes.
HEALTHCHECK --interval=60s --timeout=30s --start-period=60s --retries=3 \
    CMD ["python", "-m", "bot", "healthcheck"]
CMD ["python", "-m", "bot", "run"]
