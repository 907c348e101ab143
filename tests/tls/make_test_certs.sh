#!/bin/sh
# Makes a throw-away PKI for the TLS tests in DIR with the openssl command (never checked in):
#   ca.pem/.key          the test CA
#   other-ca.pem/.key    a CA nobody trusts ("wrong CA")
#   server.pem/.key      for localhost and 127.0.0.1 (subjectAltName), signed by ca
#   wrong-host.pem/.key  for wrong.example only, signed by ca ("wrong host name")
#   client.pem/.key      a client certificate (clientAuth), signed by ca
# Usage: make_test_certs.sh DIR
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"

make_ca() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.pem" \
    -days 2 -subj "/CN=$2" -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# make_leaf NAME SUBJECT_ALT_NAMES EXTENDED_KEY_USAGE
make_leaf() {
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$1.key" -out "$1.csr" \
    -subj "/CN=$1" 2>/dev/null
  printf 'subjectAltName=%s\nextendedKeyUsage=%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n' \
    "$2" "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -out "$1.pem" \
    -extfile "$1.ext" 2>/dev/null
  rm -f "$1.csr" "$1.ext"
}

make_ca ca "taskman test CA"
make_ca other-ca "untrusted test CA"
make_leaf server "DNS:localhost,IP:127.0.0.1" serverAuth
make_leaf wrong-host "DNS:wrong.example" serverAuth
make_leaf client "DNS:taskman-test-client" clientAuth
