#!/bin/sh
# The container's build steps (see Dockerfile), and what tests/test_deploy_files.py runs:
# build the bot's wheel from SOURCE (setup.py compiles the catalogs into it) and install it,
# with the PostgreSQL driver, into a new virtualenv at VENV.
#
#   deploy/install.sh SOURCE VENV
set -eu
source=${1:?usage: deploy/install.sh SOURCE VENV}
venv=${2:?usage: deploy/install.sh SOURCE VENV}

python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check "$source[postgres]"
# What the image must hold: the commands, the migrations, a compiled catalog, the driver.
"$venv/bin/python" - <<'PY'
from importlib.resources import files

import psycopg  # noqa: F401

import bot.__main__  # noqa: F401

assert files("storage").joinpath("migrations/env.py").is_file(), "migrations missing"
assert files("bot").joinpath("locales/de/LC_MESSAGES/messages.mo").is_file(), "catalogs not compiled"
PY
echo "installed into $venv"
