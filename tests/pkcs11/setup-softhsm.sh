#!/usr/bin/env bash
# Create a SoftHSM token for Haven's PKCS#11 tests in a folder of its own and print the
# environment that points the tests at it (eval it):
#   eval "$(bash tests/pkcs11/setup-softhsm.sh "$(mktemp -d)")"
# Needs the Debian package softhsm2 (softhsm2-util, libsofthsm2.so).
set -euo pipefail
folder="${1:?usage: setup-softhsm.sh FOLDER}"
label="${2:-haven-test}"
pin="${HAVEN_TEST_PKCS11_PIN:-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')}"
so_pin="$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"

module=""
for candidate in /usr/lib/softhsm/libsofthsm2.so /usr/lib/*/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  if [ -f "$candidate" ]; then module="$candidate"; break; fi
done
if [ -z "$module" ] || ! command -v softhsm2-util >/dev/null; then
  echo "softhsm2 is not installed (apt-get install softhsm2)" >&2
  exit 1
fi

mkdir -p -m 700 "$folder/tokens"
cat > "$folder/softhsm2.conf" <<CONF
directories.tokendir = $folder/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF
SOFTHSM2_CONF="$folder/softhsm2.conf" softhsm2-util --init-token --free --label "$label" \
  --pin "$pin" --so-pin "$so_pin" >/dev/null

printf 'export SOFTHSM2_CONF=%q\n' "$folder/softhsm2.conf"
printf 'export HAVEN_TEST_PKCS11_MODULE=%q\n' "$module"
printf 'export HAVEN_TEST_PKCS11_TOKEN=%q\n' "$label"
printf 'export HAVEN_TEST_PKCS11_PIN=%q\n' "$pin"
