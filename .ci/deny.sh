#!/usr/bin/env bash
# cargo deny check against the offline RustSec snapshot (no network to GitHub).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

src="${SESSIOND_ADVISORY_DB:-../shared/advisory-db}"
[ -f "$src/SNAPSHOT" ] || { echo "no advisory database snapshot at $src (set SESSIOND_ADVISORY_DB)"; exit 1; }
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
# cargo-deny looks for each database in DB_PATH/<name>-<hash of its URL>;
# this is the directory it expects for the URL in deny.toml.
db="$root/advisory-db-3157b0e258782691"
cp -r "$src" "$db"
git -C "$db" init -q
git -C "$db" add -A
git -C "$db" -c user.email=ci@localhost -c user.name=ci commit -qm "snapshot $(cut -d' ' -f1 "$src/SNAPSHOT")"
echo "advisory database: RustSec snapshot $(cat "$src/SNAPSHOT")"
# --offline stops cargo-deny fetching the database; it also stops `cargo
# metadata` downloading other platforms' crates, so fetch those first.
cargo fetch --locked --quiet
SESSIOND_ADVISORY_DB_ROOT="$root" cargo deny --offline check
