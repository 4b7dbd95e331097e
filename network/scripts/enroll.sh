#!/usr/bin/env bash
# Issues every node and admin identity of the network from the three Fabric CAs and lays out the MSP and
# TLS folders that the peers, the orderer and configtxgen read. Safe to re-run: folders that already hold
# a certificate are kept.
# Usage: network/scripts/enroll.sh        (the CA containers must be running; up.sh starts them)
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

host_path() { echo "$NETWORK_DIR${1#/network}"; }

ca_ready() {
  ca_client "$1" getcainfo -u "https://localhost:$(org_ca_port "$1")" -M "$C_ORGS/registrars/$1/cainfo" >/dev/null 2>&1
}

# Enrollment secrets only guard the enroll call that follows immediately, so each run makes new ones.
new_secret() { head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n'; }

# ensure_identity ORG ID SECRET TYPE [register args]: registers ID, or resets its secret if it exists.
ensure_identity() {
  local org=$1 id=$2 secret=$3 type=$4
  shift 4
  if ca_client "$org" identity list --id "$id" >/dev/null 2>&1; then
    ca_client "$org" identity modify "$id" --secret "$secret" >/dev/null
  else
    ca_client "$org" register --id.name "$id" --id.secret "$secret" --id.type "$type" "$@" >/dev/null
  fi
}

# enroll ORG ID SECRET MSPDIR [enroll args]
enroll() {
  local org=$1 id=$2 secret=$3 dir=$4
  shift 4
  local name
  name="$(org_msp "$org")"
  ca_client "$org" enroll -u "https://$id:$secret@localhost:$(org_ca_port "$org")" -M "$dir" \
    --csr.names "O=${name%MSP}" "$@" >/dev/null
}

# Organization MSP folder for configtxgen: CA certificate (it also issues TLS certificates) and NodeOUs.
org_msp_folder() {
  local org=$1 msp
  msp="$(host_path "$(org_dir "$org")")/msp"
  mkdir -p "$msp/cacerts" "$msp/tlscacerts"
  cp "$ORGS_DIR/fabric-ca/$org/ca-cert.pem" "$msp/cacerts/ca.pem"
  cp "$ORGS_DIR/fabric-ca/$org/ca-cert.pem" "$msp/tlscacerts/ca.pem"
  cp "$NETWORK_DIR/msp-config.yaml" "$msp/config.yaml"
}

# node ORG NAME TYPE: enrollment and TLS certificates for a peer or orderer, at the paths compose mounts.
node_identity() {
  local org=$1 name=$2 type=$3
  local id=$name dir host secret
  [ "$type" = peer ] && id="$name-$org"
  dir="$(org_dir "$org")/${type}s/$name"
  host="$(host_path "$dir")"
  if [ -s "$host/msp/signcerts/cert.pem" ] && [ -s "$host/tls/server.key" ]; then return 0; fi
  log "$org: $type $id"
  secret="$(new_secret)"
  ensure_identity "$org" "$id" "$secret" "$type"
  rm -rf "$host"
  enroll "$org" "$id" "$secret" "$dir/msp"
  enroll "$org" "$id" "$secret" "$dir/tls" --enrollment.profile tls --csr.hosts "$id,localhost"
  cp "$NETWORK_DIR/msp-config.yaml" "$host/msp/config.yaml"
  cp "$host"/tls/tlscacerts/*.pem "$host/tls/ca.crt"
  cp "$host/tls/signcerts/cert.pem" "$host/tls/server.crt"
  cp "$host"/tls/keystore/*_sk "$host/tls/server.key"
}

admin_identity() {
  local org=$1 dir host secret
  dir="$(org_dir "$org")/users/Admin"
  host="$(host_path "$dir")"
  if [ -s "$host/msp/signcerts/cert.pem" ]; then return 0; fi
  log "$org: admin"
  secret="$(new_secret)"
  ensure_identity "$org" "admin-$org" "$secret" admin --id.attrs 'role=admin:ecert'
  rm -rf "$host"
  enroll "$org" "admin-$org" "$secret" "$dir/msp"
  cp "$NETWORK_DIR/msp-config.yaml" "$host/msp/config.yaml"
}

setup_org() {
  local org=$1 node=$2 type=$3
  log "waiting for ca-$org"
  retry 30 2 ca_ready "$org" || die "ca-$org does not answer; is it running? (docker-compose ps)"
  if [ ! -s "$ORGS_DIR/registrars/$org/msp/signcerts/cert.pem" ]; then
    ca_client "$org" enroll -u "https://admin:$CA_ADMIN_PASSWORD@localhost:$(org_ca_port "$org")" >/dev/null
  fi
  org_msp_folder "$org"
  node_identity "$org" "$node" "$type"
  admin_identity "$org"
}

setup_org orderer orderer0 orderer
for org in "${PEER_ORGS[@]}"; do
  setup_org "$org" peer0 peer
done
log "identities ready under $ORGS_DIR"
