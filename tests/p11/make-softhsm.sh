#!/bin/bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Makes a private SoftHSM token for the PKCS#11 tests.
#
# usage: make-softhsm.sh DIR
#
# Creates in DIR (which must exist and be empty):
#   softhsm2.conf   point SOFTHSM2_CONF at it
#   cert-01.der     certificate on the token, CKA_ID 01, label "auth cert"
#   cert-02.der     certificate on the token, CKA_ID 02, label "sign" + Latin-1 e-acute
#                   (not UTF-8: labels are raw bytes)
#   pub-01.der      public key on the token, CKA_ID 01 (pairs with cert-01)
#   pub-07.der      public key on the token, CKA_ID 07, with no certificate
# The token is "Testbed HSM", SO PIN 12345678, user PIN 123456. The PIN is used
# here only, to write the objects: tokenwatch itself never logs in.
# TW_SOFTHSM_MODULE overrides the path of libsofthsm2.so.

set -euo pipefail

dir=${1:?usage: make-softhsm.sh DIR}
module=${TW_SOFTHSM_MODULE:-/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so}
label="Testbed HSM"

for tool in softhsm2-util pkcs11-tool openssl; do
    command -v "$tool" >/dev/null || {
        echo "make-softhsm.sh: $tool not found" >&2
        exit 1
    }
done
[[ -f $module ]] || {
    echo "make-softhsm.sh: no SoftHSM module at $module" >&2
    exit 1
}

cd "$dir"
mkdir tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n' \
    "$PWD" >softhsm2.conf
export SOFTHSM2_CONF=$PWD/softhsm2.conf

softhsm2-util --init-token --free --label "$label" --so-pin 12345678 --pin 123456 >/dev/null

# EC keys: fast to make; the token only stores the certificates and public keys
make_cert() { # name, subject
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "key-$1.pem" -subj "$2" -days 365 -outform DER -out "cert-$1.der" 2>/dev/null
    openssl pkey -in "key-$1.pem" -pubout -outform DER -out "pub-$1.der"
    rm -f "key-$1.pem"
}
make_cert 01 "/CN=Testbed Auth"
make_cert 02 "/CN=Testbed Sign"
make_cert 07 "/CN=Testbed Orphan"
rm -f cert-07.der pub-02.der

write() { # file, type, id, label
    pkcs11-tool --module "$module" --token-label "$label" --login --pin 123456 \
        --write-object "$1" --type "$2" --id "$3" --label "$4" >/dev/null
}
write cert-01.der cert 01 "auth cert"
write cert-02.der cert 02 $'sign \xe9'
write pub-01.der pubkey 01 "auth key"
write pub-07.der pubkey 07 "orphan key"
