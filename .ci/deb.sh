#!/usr/bin/env bash
# Build the Debian package, install it on this machine, check what it put
# where, run the binary as the packaged user, then remove and purge it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo deb --locked --quiet
deb=$(ls -t target/debian/sessiond_*.deb | head -1)
echo "built $deb ($(du -h "$deb" | cut -f1))"
if dpkg -s sessiond >/dev/null 2>&1; then dpkg -P sessiond >/dev/null; fi
dpkg -i "$deb"

unit=/usr/lib/systemd/system/sessiond.service
for f in /usr/bin/sessiond /etc/sessiond/sessiond.toml "$unit" /usr/share/doc/sessiond/air-gapped.md; do
  test -e "$f" || { echo "missing after install: $f"; exit 1; }
done
getent passwd sessiond >/dev/null || { echo "no sessiond user"; exit 1; }
[ "$(stat -c '%U %a' /var/lib/sessiond)" = "sessiond 700" ] || { echo "bad /var/lib/sessiond: $(stat -c '%U %a' /var/lib/sessiond)"; exit 1; }
dpkg-query -W -f='${Conffiles}\n' sessiond | grep -q /etc/sessiond/sessiond.toml

/usr/bin/sessiond --version
as_user() { runuser -u sessiond -- "$@"; }
conf=(--config /etc/sessiond/sessiond.toml)
echo 'a long ci passphrase' | as_user /usr/bin/sessiond "${conf[@]}" tenant create ci-deb \
  --name 'CI' --admin-email admin@ci.test --admin-name Admin --admin-password-stdin
as_user /usr/bin/sessiond "${conf[@]}" check
[ "$(stat -c '%U %a' /var/lib/sessiond/sessiond.redb)" = "sessiond 600" ]
if command -v systemd-analyze >/dev/null 2>&1; then
  systemd-analyze verify "$unit"
fi

dpkg -r sessiond
test ! -e /usr/bin/sessiond
test -e /etc/sessiond/sessiond.toml   # a conffile outlives remove
dpkg -P sessiond
test ! -e /etc/sessiond
dpkg -s sessiond >/dev/null 2>&1 && { echo "still installed"; exit 1; }
test -e /var/lib/sessiond/sessiond.redb   # the data is never deleted by the package
rm -rf /var/lib/sessiond
echo "deb: installed, checked, removed and purged"
