#!/bin/sh
# `make dev`: local secrets, the example campaigns in local KV, the local
# origin on 127.0.0.1:8788, and the worker on 127.0.0.1:8787. Ctrl-C stops
# both.
set -eu
cd "$(dirname "$0")/.."

if [ ! -f .dev.vars ]; then
  rand() { node -e "process.stdout.write(require('crypto').randomBytes($1).toString('$2'))"; }
  {
    echo "ADMIN_TOKEN=$(rand 24 hex)"
    echo "CLICK_SIGNING_KEY=$(rand 32 base64url)"
    echo "ORIGIN_SECRET=whsec_$(rand 32 base64)"
    echo "ORIGIN_URL=http://127.0.0.1:8788"
  } > .dev.vars
  echo "wrote .dev.vars with fresh local secrets"
fi
grep -q '^ORIGIN_URL=' .dev.vars || echo "ORIGIN_URL=http://127.0.0.1:8788" >> .dev.vars
ORIGIN_SECRET=$(sed -n 's/^ORIGIN_SECRET=//p' .dev.vars)

node scripts/seed.mjs

ORIGIN_SECRET="$ORIGIN_SECRET" node scripts/origin.mjs &
ORIGIN_PID=$!
trap 'kill $ORIGIN_PID 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM

echo "admin token: in .dev.vars (README \"Try it\" reads it from there)"
npx wrangler dev --ip 127.0.0.1 --port 8787 "$@"
