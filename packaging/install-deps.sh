#!/usr/bin/env bash
# Installs every build and test dependency of plumb from Debian 12 packages. Idempotent: when everything is
# already installed it only checks and exits; apt-get runs only for what is missing.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config
  libsystemd-dev libaudit-dev libselinux1-dev libnftnl-dev libmnl-dev libssl-dev libsqlite3-dev
  nlohmann-json3-dev libpaho-mqtt-dev libpaho-mqttpp-dev libgtest-dev libgmock-dev
  # tests: the oracle for systemd drop-in semantics, a private D-Bus, the external JSON Schema validator and the
  # official JSON Schema test suite
  systemd dbus python3 python3-jsonschema json-schema-test-suite
  # provisioning: HTTP and XML libraries, useradd/usermod for the end-to-end tests
  libcurl4-openssl-dev libxml2-dev passwd
  # auditd: auditctl, the oracle of the live audit-rule tests
  auditd
  # firewall: nft (the oracle of the netlink and nft-file tests; plumb itself never runs it) and ip (network
  # namespaces and veth pairs for the live tests)
  nftables iproute2
  # firewalld: the firewalld tests run the real daemon (in private network and mount namespaces, on a private bus)
  firewalld
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}" >&2
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; else SUDO=; fi
export DEBIAN_FRONTEND=noninteractive
# firewalld's package enables and starts firewalld.service, which would replace this machine's firewall: the tests
# only need the daemon's program, so the service is masked first and never runs here.
if [[ " ${missing[*]} " == *" firewalld "* ]] && [ -d /run/systemd/system ]; then
  $SUDO systemctl mask firewalld.service >/dev/null
fi
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
