#!/usr/bin/env bash
# Make a checkout of reportgen runnable and testable from nothing.
#
# Why a script: CI runs in a fresh clone, possibly on a brand-new machine, so everything the
# tests touch for real (Chromium, PostgreSQL, poppler, WeasyPrint's system libraries, fonts,
# the Python dependencies) must be installed by the project itself. It is idempotent and
# fast when everything is present: apt is not touched at all then, and pip only runs when
# pyproject.toml changed since the last successful install.
#
# Usage: bash scripts/setup.sh        (from anywhere; works on the repo it lives in)
# Env:   REPORTGEN_SKIP_APT=1         skip the Debian package step entirely
#        REPORTGEN_FORCE_PIP=1        reinstall Python deps even if the stamp matches
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

say() { printf 'setup: %s\n' "$*"; }
start=$SECONDS

# --- Debian packages -------------------------------------------------------------------------
# chromium: browser tests (Playwright drives /usr/bin/chromium; never a downloaded browser)
# poppler-utils: pdftoppm, to look at PDFs as pictures
# postgresql: server binaries for the throwaway test database (/usr/lib/postgresql/*/bin)
# fonts-dejavu-core: a known font so PDFs render the same everywhere
# libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0: what WeasyPrint >= 53 needs on Debian 11+
apt_packages=(
  chromium
  poppler-utils
  postgresql
  fonts-dejavu-core
  libpango-1.0-0
  libpangoft2-1.0-0
  libharfbuzz-subset0
)

installed() {
  # dpkg-query is instant and needs no apt lists; "install ok installed" means fully unpacked.
  [[ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" == "install ok installed" ]]
}

if [[ "${REPORTGEN_SKIP_APT:-0}" == "1" ]]; then
  say "skipping Debian packages (REPORTGEN_SKIP_APT=1)"
elif ! command -v dpkg-query >/dev/null 2>&1; then
  say "not a Debian system: install ${apt_packages[*]} (or equivalents) yourself"
else
  missing=()
  for pkg in "${apt_packages[@]}"; do
    installed "$pkg" || missing+=("$pkg")
  done
  if ((${#missing[@]} == 0)); then
    say "Debian packages present"
  elif [[ "$(id -u)" != "0" ]]; then
    say "WARNING: missing Debian packages and not root: ${missing[*]}"
    say "         run: sudo apt-get install ${missing[*]}"
  else
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # Wait for a dpkg lock held by another apt run instead of failing at once.
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
    say "Debian packages installed"
  fi
fi

# --- Python virtual environment ----------------------------------------------------------------
py="$repo/.venv/bin/python"
if [[ ! -x "$py" ]] || ! "$py" -c 'import sys' >/dev/null 2>&1; then
  say "creating .venv with $(python3 --version 2>&1)"
  rm -rf "$repo/.venv"
  python3 -m venv "$repo/.venv"
fi

# The stamp records what the last successful install was made from: the checkout path,
# pyproject.toml and the interpreter. Same stamp -> nothing to do (pip's own no-op check costs several seconds because
# an editable install rebuilds the project metadata in an isolated build environment).
stamp_file="$repo/.venv/.reportgen-setup-stamp"
stamp="$( { echo "$repo"; cat "$repo/pyproject.toml"; "$py" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
if [[ "${REPORTGEN_FORCE_PIP:-0}" != "1" && -f "$stamp_file" && "$(cat "$stamp_file")" == "$stamp" ]]; then
  say "Python dependencies up to date"
else
  say "installing Python dependencies (pip install -e .[test])"
  # pyproject force-includes templates/ into the wheel; git keeps no empty folders, so a fresh
  # clone lacks it until a template is committed, and hatchling then refuses to build.
  mkdir -p "$repo/templates"
  # Some machines' pip config lists local mirror folders that do not all exist; pip then warns
  # once per package. Drop only that line so real warnings and errors still show.
  "$py" -m pip install -q --disable-pip-version-check -e "$repo[test]" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  printf '%s\n' "$stamp" >"$stamp_file"
  say "Python dependencies installed"
fi

# pip byte-compiles the dependencies it installs, but an editable install leaves reportgen's own
# modules to their first import, and where PYTHONDONTWRITEBYTECODE is set (as on some CI and
# sandbox machines) every command then compiles them again (about 0.03-0.07 s per command).
# compileall writes the .pyc files regardless, and skips the ones that are up to date.
"$py" -m compileall -q "$repo/reportgen"

say "done in $((SECONDS - start))s"
