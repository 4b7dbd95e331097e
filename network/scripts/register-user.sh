#!/usr/bin/env bash
# Registers and enrolls an application identity (NodeOU "client") at a hospital's CA, with the certificate
# attributes the consentry chaincode reads (role, fhirUser, pseudonym, npi, emergency).
# Usage: network/scripts/register-user.sh ORG NAME attr=value...
#   e.g. register-user.sh hospitala dr-house role=practitioner fhirUser=Practitioner/123 npi=1234567893
# Prints the certificate and key paths (host side) as one JSON line.
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

[ $# -ge 2 ] || die "usage: $0 hospitala|hospitalb NAME [attr=value ...]"
org=$1 name=$2
shift 2
case "$org" in hospitala | hospitalb) ;; *) die "ORG must be hospitala or hospitalb" ;; esac
[[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._@-]*$ ]] || die "NAME may hold letters, digits, . _ @ -"

attrs=""
for pair in "$@"; do
  [[ "$pair" == *=* ]] || die "attribute '$pair' is not name=value"
  [[ "$pair" != *,* ]] || die "attribute '$pair' must not contain a comma"
  # :ecert puts the attribute into the enrollment certificate, where ctx.clientIdentity reads it.
  attrs="${attrs:+$attrs,}$pair:ecert"
done

secret="$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')"
if ca_client "$org" identity list --id "$name" >/dev/null 2>&1; then
  die "$name is already registered at ca-$org (re-enroll it with fabric-ca-client, or pick another name)"
fi
register_args=(--id.name "$name" --id.secret "$secret" --id.type client)
[ -n "$attrs" ] && register_args+=(--id.attrs "$attrs")
ca_client "$org" register "${register_args[@]}" >/dev/null

dir="$(org_dir "$org")/users/$name/msp"
msp_name="$(org_msp "$org")"
ca_client "$org" enroll -u "https://$name:$secret@localhost:$(org_ca_port "$org")" -M "$dir" \
  --csr.names "O=${msp_name%MSP}" >/dev/null
host_dir="$NETWORK_DIR${dir#/network}"
cp "$NETWORK_DIR/msp-config.yaml" "$host_dir/config.yaml"
key="$(ls "$host_dir"/keystore/*_sk)"
printf '{"mspId":"%s","cert":"%s","key":"%s"}\n' "$msp_name" "$host_dir/signcerts/cert.pem" "$key"
