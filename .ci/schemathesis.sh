#!/usr/bin/env bash
# schemathesis against /openapi.json of a running server (the release
# binary `cargo deb` built): as an org admin on the tenant routes, as a
# global admin on the platform routes, and without a token on the public
# ones. All checks, bounded examples: no 5xx, every status documented,
# every response matching its schema.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bin=${SESSIOND_BIN:-target/release/sessiond}
[ -x "$bin" ] || cargo build --release --locked --quiet
work=$(mktemp -d)
log="$work/server.log"
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

SESSIOND_BOOTSTRAP_ADMIN_EMAIL=root@ci.test SESSIOND_BOOTSTRAP_ADMIN_PASSWORD='a long ci root passphrase' \
  "$bin" --data-dir "$work/data" serve --listen 127.0.0.1:0 --login-free-failures 1000 \
  --login-ip-failure-limit 100000 --login-account-failure-limit 100000 2>"$log" &
pid=$!
for _ in $(seq 100); do grep -q 'listening on' "$log" && break; sleep 0.1; done
base=$(grep -o 'listening on http://[0-9.:]*' "$log" | head -1 | sed 's/listening on //')
[ -n "$base" ] || { cat "$log"; exit 1; }
echo "server at $base"

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
root=$(curl -sf "$base/v1/platform/auth/login" -H 'content-type: application/json' \
  -d '{"email":"root@ci.test","password":"a long ci root passphrase"}' | json "['access_token']")
curl -sf "$base/v1/platform/tenants" -H "authorization: Bearer $root" -H 'content-type: application/json' \
  -d '{"slug":"fuzz","name":"Fuzz","first_admin":{"email":"admin@fuzz.test","display_name":"Admin","password":"a long ci admin passphrase"}}' >/dev/null
org=$(curl -sf "$base/v1/auth/login" -H 'content-type: application/json' \
  -d '{"tenant":"fuzz","email":"admin@fuzz.test","password":"a long ci admin passphrase"}' | json "['access_token']")

# The path parameter {t} is the tenant we made; the rest is generated.
cat > "$work/schemathesis.toml" <<TOML
[parameters]
"path.t" = "fuzz"

TOML

run() {
  local who=$1 token=$2; shift 2
  echo "---- schemathesis as $who"
  local auth=()
  [ -n "$token" ] && auth=(-H "Authorization: Bearer $token")
  schemathesis --config-file "$work/schemathesis.toml" run "$base/openapi.json" \
    --url "$base" --checks all --max-examples "${SCHEMATHESIS_EXAMPLES:-25}" \
    --phases examples,coverage,fuzzing --workers 1 --request-timeout 10 \
    --suppress-health-check all "${auth[@]}" "$@"
}

# Whether these accept a schema-valid request depends on stored state (the
# tenant's password policy, 8–128 characters; its support-grant cap; a
# grantee that is a global admin; a list cursor is valid only as this
# server issued it): they run with every check but positive_data_acceptance.
tenant_stateful=(
  "POST /v1/tenants/{t}/users" "POST /v1/tenants/{t}/users/{uid}/password"
  "POST /v1/tenants/{t}/support-grants" "GET /v1/tenants/{t}/support-grants"
  "GET /v1/tenants/{t}/sessions" "GET /v1/tenants/{t}/users" "GET /v1/tenants/{t}/audit"
  "GET /v1/tenants/{t}/clients"
)
platform_stateful=(
  "POST /v1/platform/tenants" "POST /v1/platform/admins" "POST /v1/platform/admins/{id}/password"
  "POST /v1/platform/tenants/{t}/access-requests" "GET /v1/platform/tenants" "GET /v1/platform/admins"
  "GET /v1/platform/grants" "GET /v1/platform/audit"
)
names() { local flag=$1; shift; for n in "$@"; do printf '%s\0%s\0' "$flag" "$n"; done; }
mapfile -d '' not_stateful < <(names --exclude-name "${tenant_stateful[@]}" "${platform_stateful[@]}")
mapfile -d '' only_tenant < <(names --include-name "${tenant_stateful[@]}")
mapfile -d '' only_platform < <(names --include-name "${platform_stateful[@]}")

status=0
# Signing out, revoking every session or a one-second idle timeout would
# end the token mid-run: the policy runs last, on its own.
run "an org admin" "$org" --include-path-regex '^/v1/tenants/' "${not_stateful[@]}" \
  --exclude-path '/v1/tenants/{t}/sessions/revoke' --exclude-path '/v1/tenants/{t}/policy' || status=1
run "a global admin" "$root" --include-path-regex '^/v1/platform/' "${not_stateful[@]}" \
  --exclude-path '/v1/platform/auth/login' || status=1
run "a member (own token)" "$org" --include-path-regex '^/v1/auth/(me|verify|refresh)$' || status=1
run "no one (public and browser routes)" "" \
  --include-path-regex '^/(healthz|readyz|openapi.json|\.well-known/jwks.json|v1/auth/login|v1/platform/auth/login|v1/oauth/introspect|v1/oauth/revoke|v1/browser/.*)$' || status=1
run "an org admin (state-dependent)" "$org" "${only_tenant[@]}" \
  --exclude-checks positive_data_acceptance || status=1
run "a global admin (state-dependent)" "$root" "${only_platform[@]}" \
  --exclude-checks positive_data_acceptance || status=1
run "an org admin (policy)" "$org" --include-path '/v1/tenants/{t}/policy' || status=1
run "an org admin (sign-out, bulk revoke)" "$org" --include-path '/v1/auth/logout' \
  --include-path '/v1/tenants/{t}/sessions/revoke' || status=1
exit $status
