#!/usr/bin/env bash
# shellcheck disable=SC2034 # settings below are used by the scripts that source this file
# Shared settings and helpers for the network scripts (sourced, not run).
# Fabric tools run inside containers (fabric-ca for fabric-ca-client, fabric-tools for peer, osnadmin and
# configtxgen), so the host needs only Docker, docker-compose (or the compose plugin) and Node for packaging.
set -euo pipefail

NETWORK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
REPO_DIR="$(cd "$NETWORK_DIR/.." && pwd)"
ORGS_DIR="$NETWORK_DIR/organizations"
# Inside every container the network folder is mounted at /network.
C_ORGS=/network/organizations

CHANNEL="${FABRIC_CHANNEL:-consentry}"
CC_NAME="${FABRIC_CHAINCODE:-consentry}"
CC_VERSION="${CC_VERSION:-1.0}"
# Any member of either hospital may endorse (see network/README.md, "Endorsement policy").
CC_POLICY="${CC_POLICY:-OR('HospitalAMSP.member','HospitalBMSP.member')}"
CA_ADMIN_PASSWORD="${FABRIC_CA_ADMIN_PASSWORD:-adminpw}"
PEER_ORGS=(hospitala hospitalb)

# Files written by containers into the bind mounts belong to the invoking user.
HOST_UID="$(id -u)"
HOST_GID="$(id -g)"
export HOST_UID HOST_GID

ORDERER_ADDRESS=orderer0:7050
ORDERER_ADMIN_ADDRESS=orderer0:7053
ORDERER_TLS_CA="$C_ORGS/ordererOrganizations/orderer/msp/tlscacerts/ca.pem"
ORDERER_DIR="$C_ORGS/ordererOrganizations/orderer/orderers/orderer0"

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

compose() {
  if command -v docker-compose >/dev/null 2>&1; then
    docker-compose -f "$REPO_DIR/docker-compose.yml" "$@"
  else
    docker compose -f "$REPO_DIR/docker-compose.yml" "$@"
  fi
}

org_msp() {
  case "$1" in
    hospitala) echo HospitalAMSP ;;
    hospitalb) echo HospitalBMSP ;;
    orderer) echo OrdererMSP ;;
    *) die "unknown organization '$1' (hospitala, hospitalb, orderer)" ;;
  esac
}

org_ca_port() {
  case "$1" in
    hospitala) echo 7054 ;;
    hospitalb) echo 8054 ;;
    orderer) echo 9054 ;;
    *) die "unknown organization '$1'" ;;
  esac
}

# Container-side folder of an organization's crypto material.
org_dir() {
  if [ "$1" = orderer ]; then echo "$C_ORGS/ordererOrganizations/orderer"; else echo "$C_ORGS/peerOrganizations/$1"; fi
}

# fabric-ca-client inside the organization's CA container, acting as the CA's bootstrap admin.
ca_client() {
  local org=$1
  shift
  compose exec -T -e FABRIC_CA_CLIENT_HOME="$C_ORGS/registrars/$org" "ca-$org" \
    fabric-ca-client "$@" --caname "ca-$org" --tls.certfiles "$C_ORGS/fabric-ca/$org/ca-cert.pem"
}

# A Fabric CLI tool (peer, osnadmin, configtxgen) in a throw-away fabric-tools container.
tools() {
  compose run --rm -T tools "$@"
}

# The peer CLI as ORG's admin, talking to ORG's peer.
peer_as() {
  local org=$1
  shift
  compose run --rm -T \
    -e CORE_PEER_LOCALMSPID="$(org_msp "$org")" \
    -e CORE_PEER_MSPCONFIGPATH="$(org_dir "$org")/users/Admin/msp" \
    -e CORE_PEER_ADDRESS="peer0-$org:7051" \
    -e CORE_PEER_TLS_ROOTCERT_FILE="$(org_dir "$org")/peers/peer0/tls/ca.crt" \
    tools peer "$@"
}

# retry N DELAY cmd... : for services that need a moment after start (CAs, Raft leader election).
retry() {
  local attempts=$1 delay=$2
  shift 2
  local i
  for ((i = 1; i <= attempts; i++)); do
    if "$@"; then return 0; fi
    [ "$i" -lt "$attempts" ] && sleep "$delay"
  done
  return 1
}
