#!/bin/sh
# `make deploy`: what a deployment needs, checked, then `wrangler deploy`
# (README "Deploy" gives the steps).
set -eu
cd "$(dirname "$0")/.."

if grep -q '^id = "00000000000000000000000000000000"' wrangler.toml; then
  cat >&2 <<'MSG'
wrangler.toml still holds the placeholder KV namespace id. Create the namespace:
  npx wrangler kv namespace create CAMPAIGNS
and put the id it prints under [[kv_namespaces]] in wrangler.toml.
MSG
  exit 1
fi

npx wrangler deploy "$@"

# Every secret the worker reads, set or not (their values are never shown).
listed=$(npx wrangler secret list 2>/dev/null || true)
missing=""
for name in CLICK_SIGNING_KEY ORIGIN_SECRET ADMIN_TOKEN ORIGIN_URL; do
  echo "$listed" | grep -q "\"$name\"" || missing="$missing $name"
done
if [ -n "$missing" ]; then
  echo "Deployed, but these secrets are not set yet:$missing" >&2
  echo "Put each with: npx wrangler secret put NAME" >&2
fi
