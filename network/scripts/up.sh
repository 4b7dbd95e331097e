#!/usr/bin/env bash
# Brings the whole network up from nothing (or resumes it): CAs, identities, orderer and peers, channel,
# chaincode. Each step skips what is already done.
# Usage: network/scripts/up.sh
# shellcheck source=common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
here="$(dirname "${BASH_SOURCE[0]}")"

# Created here so that the bind mount belongs to this user, not to the Docker daemon.
mkdir -p "$NETWORK_DIR/channel-artifacts" "$REPO_DIR/dist"
for org in hospitala hospitalb orderer; do
  mkdir -p "$ORGS_DIR/fabric-ca/$org" "$ORGS_DIR/registrars/$org"
done

log "starting the certificate authorities"
compose up -d ca-hospitala ca-hospitalb ca-orderer
"$here/enroll.sh"

log "starting orderer, peers and CouchDB"
compose up -d orderer0 couchdb-hospitala couchdb-hospitalb peer0-hospitala peer0-hospitalb
"$here/create-channel.sh"
"$here/deploy-chaincode.sh"

cat >&2 <<INFO
==> network ready. Point the Consentry server at HospitalA's peer:
    FABRIC_PEER_ENDPOINT=localhost:7051
    FABRIC_PEER_HOST_ALIAS=peer0-hospitala
    FABRIC_TLS_ROOT_CERT=$ORGS_DIR/peerOrganizations/hospitala/peers/peer0/tls/ca.crt
    FABRIC_MSP_ID=HospitalAMSP
    FABRIC_CHANNEL=$CHANNEL
    FABRIC_CHAINCODE=$CC_NAME
INFO
