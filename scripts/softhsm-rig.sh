#!/usr/bin/env bash
# softhsm-rig.sh: a private SoftHSM2 token for SES, in a directory of its own.
#
# usage: scripts/softhsm-rig.sh DIR [--token LABEL] [--so-pin PIN] [--pin PIN]
#                                     [--aes-key LABEL]... [--rsa-key LABEL]...
#
# Writes DIR/softhsm2.conf (token directory DIR/tokens, file backend, errors
# only in the log) and the PINs (user PIN in DIR/user.pin, SO PIN in
# DIR/so.pin, both mode 0600 without a newline), initialises one token (with
# pkcs11-tool, which takes PINs from the environment; softhsm2-util then
# checks the token is there), and optionally makes keys with pkcs11-tool:
#   --aes-key LABEL  AES-256 secret key, CKA_ID 01, sensitive, never extractable
#   --rsa-key LABEL  RSA-2048 key pair, CKA_ID 01, private key sensitive
# Both options may repeat. PINs not given are random (16 bytes from
# /dev/urandom, as hex).
#
# On success stdout holds only what an operator needs (the export line, then
# one key URI per line); progress goes to stderr. No PIN is ever printed or
# passed on a command line by this script: the tools read them from
# environment variables that live only inside it (pkcs11-tool's "env:NAME").
# A PIN given with --pin or --so-pin is, of course, in this script's own
# arguments: leave them out (random PINs) on shared machines.
#
# Refuses to touch a DIR/tokens that is not empty, so a rig is never
# overwritten by accident: remove DIR (or pick another) to start again.
#
# SES_SOFTHSM_MODULE overrides the module path
# (default /usr/lib/softhsm/libsofthsm2.so).
set -euo pipefail
export LC_ALL=C  # byte-wise string handling in uri_escape

readonly module=${SES_SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
prog=$(basename "$0")

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
usage() {
  sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'
  exit "${1:-2}"
}

# A random PIN: 16 bytes from the kernel as 32 hex digits.
random_pin() { od -An -N16 -tx1 /dev/urandom | tr -d ' \n'; }

# RFC 3986 percent-encoding of everything but unreserved characters and '/'
# (enough for paths and labels inside a pkcs11: URI).
uri_escape() {
  local s=$1 out='' c i
  for ((i = 0; i < ${#s}; i++)); do
    c=${s:i:1}
    case $c in
      [A-Za-z0-9._~/-]) out+=$c ;;
      *) out+=$(printf '%%%02X' "'$c") ;;
    esac
  done
  printf '%s' "$out"
}

# Writes $2 to file $1 with mode 0600 and no newline.
write_secret() {
  (umask 077 && printf '%s' "$2" > "$1")
  chmod 600 "$1"
}

[ $# -ge 1 ] || usage >&2
case $1 in -h | --help) usage 0 ;; -*) die "the first argument must be DIR (got '$1')" ;; esac
dir=$1
shift
token=ses-test
so_pin=''
user_pin=''
aes_keys=()
rsa_keys=()
while [ $# -gt 0 ]; do
  case $1 in
    --token | --so-pin | --pin | --aes-key | --rsa-key)
      [ $# -ge 2 ] || die "$1 needs a value"
      case $1 in
        --token) token=$2 ;;
        --so-pin) so_pin=$2 ;;
        --pin) user_pin=$2 ;;
        --aes-key) aes_keys+=("$2") ;;
        --rsa-key) rsa_keys+=("$2") ;;
      esac
      shift 2
      ;;
    -h | --help) usage 0 ;;
    *) die "unknown argument '$1' (see $prog --help)" ;;
  esac
done

[ -n "$token" ] || die "--token must not be empty"
[ ${#token} -le 32 ] || die "token label '$token' is longer than 32 characters"
for p in "$so_pin" "$user_pin"; do
  if [ -n "$p" ] && { [ ${#p} -lt 4 ] || [ ${#p} -gt 255 ]; }; then
    die "a PIN must have 4 to 255 characters (SoftHSM2's limits)"
  fi
done
for l in ${aes_keys[@]+"${aes_keys[@]}"} ${rsa_keys[@]+"${rsa_keys[@]}"}; do
  [ -n "$l" ] || die "a key label must not be empty"
done

for tool in softhsm2-util pkcs11-tool od tr; do
  command -v "$tool" > /dev/null || die "$tool is not installed (scripts/install-deps.sh installs softhsm2 and opensc)"
done
[ -r "$module" ] || die "SoftHSM2 module $module not found (install softhsm2, or set SES_SOFTHSM_MODULE)"

mkdir -p "$dir" || die "cannot create $dir"
dir=$(cd "$dir" && pwd -P)
tokens=$dir/tokens
if [ -d "$tokens" ] && [ -n "$(ls -A "$tokens")" ]; then
  die "$tokens is not empty: a rig already lives in $dir (remove $dir to make a new one)"
fi
mkdir -p "$tokens"
chmod 700 "$tokens"

conf=$dir/softhsm2.conf
cat > "$conf" << EOF
# SoftHSM2 configuration written by $prog: a private token directory.
directories.tokendir = $tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
EOF
export SOFTHSM2_CONF=$conf

[ -n "$so_pin" ] || so_pin=$(random_pin)
[ -n "$user_pin" ] || user_pin=$(random_pin)
write_secret "$dir/so.pin" "$so_pin"
write_secret "$dir/user.pin" "$user_pin"

# The tools read the PINs from these variables, never from their arguments.
export SES_RIG_SO_PIN=$so_pin SES_RIG_USER_PIN=$user_pin
unset so_pin user_pin
p11() { pkcs11-tool --module "$module" "$@"; }
# Runs a tool quietly; on failure shows its output (which holds no PIN) and stops.
run() {
  local what=$1 out
  shift
  if ! out=$("$@" 2>&1); then
    printf '%s\n' "$out" >&2
    die "$what failed"
  fi
}

say "initialising token '$token' in $tokens"
run "initialising the token" p11 --slot-index 0 --init-token --label "$token" --so-pin env:SES_RIG_SO_PIN
run "setting the user PIN" p11 --token-label "$token" --login --login-type so --so-pin env:SES_RIG_SO_PIN \
  --init-pin --new-pin env:SES_RIG_USER_PIN
softhsm2-util --show-slots 2> /dev/null | sed -n 's/^ *Label: *//p' | sed 's/ *$//' | grep -qxF -- "$token" ||
  die "token '$token' is not visible to softhsm2-util after initialisation"

for l in ${aes_keys[@]+"${aes_keys[@]}"}; do
  say "creating AES-256 key '$l' (id 01)"
  run "creating AES key '$l'" p11 --token-label "$token" --login --pin env:SES_RIG_USER_PIN \
    --keygen --key-type AES:32 --label "$l" --id 01 --sensitive
done
for l in ${rsa_keys[@]+"${rsa_keys[@]}"}; do
  say "creating RSA-2048 key pair '$l' (id 01)"
  run "creating RSA key pair '$l'" p11 --token-label "$token" --login --pin env:SES_RIG_USER_PIN \
    --keypairgen --key-type rsa:2048 --label "$l" --id 01 --sensitive
done
unset SES_RIG_SO_PIN SES_RIG_USER_PIN

query="?pin-source=$(uri_escape "$dir/user.pin")"
t=$(uri_escape "$token")
say "done: user PIN in $dir/user.pin, SO PIN in $dir/so.pin (both 0600)"
printf 'export SOFTHSM2_CONF=%s\n' "$conf"
if [ ${#aes_keys[@]} -eq 0 ] && [ ${#rsa_keys[@]} -eq 0 ]; then
  say "no key was created; the URI below names a key 'master' you still have to create"
  printf 'pkcs11:token=%s;object=master%s\n' "$t" "$query"
fi
for l in ${aes_keys[@]+"${aes_keys[@]}"}; do
  printf 'pkcs11:token=%s;object=%s%s\n' "$t" "$(uri_escape "$l")" "$query"
done
for l in ${rsa_keys[@]+"${rsa_keys[@]}"}; do
  printf 'pkcs11:token=%s;object=%s;type=private-key%s\n' "$t" "$(uri_escape "$l")" "$query"
done
