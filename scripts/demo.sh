#!/usr/bin/env bash
# The main job until the daemon exists: a short end-to-end demo of sesctl in
# offline mode, in a fresh directory under ./var/demo, saying what it does.
set -euo pipefail
build=${1:-build}
sesctl="$(cd "$build/bin" && pwd)/sesctl"
demo=var/demo
rm -rf "$demo"
mkdir -p var

step() { printf '\n== %s\n' "$*"; }

step "sesctl init: a config with keyring 'default' on a new keyfile master key"
"$sesctl" init "$demo"
conf="$demo/ses.conf"

step "Encrypt a file under context app=demo"
printf 'The eagle has landed.\n' > "$demo/secret.txt"
"$sesctl" --config "$conf" encrypt --context app=demo --in "$demo/secret.txt" --out "$demo/secret.ses"
echo "secret.txt: $(wc -c < "$demo/secret.txt") bytes -> secret.ses: $(wc -c < "$demo/secret.ses") bytes"

step "Inspect the envelope header (no secrets in it)"
"$sesctl" --config "$conf" inspect --in "$demo/secret.ses"

step "Decrypt it with the same context"
"$sesctl" --config "$conf" decrypt --context app=demo --in "$demo/secret.ses"

step "Decrypt with the wrong context: refused"
"$sesctl" --config "$conf" decrypt --context app=other --in "$demo/secret.ses" --out "$demo/wrong.txt" || true
[ ! -e "$demo/wrong.txt" ] && echo "(no output file was written)"

step "Flip one byte of the ciphertext: authentication fails, nothing is written"
cp "$demo/secret.ses" "$demo/tampered.ses"
printf '\x00' | dd of="$demo/tampered.ses" bs=1 seek=$(( $(wc -c < "$demo/secret.ses") - 5 )) conv=notrunc status=none
"$sesctl" --config "$conf" decrypt --context app=demo --in "$demo/tampered.ses" --out "$demo/tampered.txt" || true
[ ! -e "$demo/tampered.txt" ] && echo "(no output file was written)"

step "Rotate the master key; the old message still decrypts"
"$sesctl" --config "$conf" keys rotate keyfile://master.key
"$sesctl" --config "$conf" keys list
"$sesctl" --config "$conf" decrypt --context app=demo --in "$demo/secret.ses"

step "Re-encrypt the old message under the new key version (the body is untouched)"
"$sesctl" --config "$conf" reencrypt --in "$demo/secret.ses" --out "$demo/secret-v2.ses"
"$sesctl" --config "$conf" inspect --in "$demo/secret-v2.ses" | grep 'version'
"$sesctl" --config "$conf" decrypt --context app=demo --in "$demo/secret-v2.ses"

step "Loaded plugins"
"$sesctl" --config "$conf" plugins

printf '\nDemo done. Its files are in %s; try the commands above yourself.\n' "$demo"
