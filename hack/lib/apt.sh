# Shared by the hack/install-*.sh scripts: install Debian packages.
#
#   source "$(dirname "$0")/lib/apt.sh"
#   apt_install NAME package...
#
# NAME prefixes the log lines. It runs apt-get through sudo when not root,
# updates the package lists only when they do not know the first package,
# and once more when the install fails (stale lists point at versions the
# mirror no longer has).

apt_install() {
  local name="$1"
  shift
  local sudo=()
  if [[ "$(id -u)" -ne 0 ]]; then
    sudo=(sudo)
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-cache policy "$1" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
    echo "$name: updating package lists" >&2
    "${sudo[@]}" apt-get update -q
  fi
  echo "$name: installing $* (Debian packages)" >&2
  if ! "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@"; then
    echo "$name: install failed; updating package lists and retrying" >&2
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "$@"
  fi
}

# as_root runs a command through sudo when not root.
as_root() {
  if [[ "$(id -u)" -ne 0 ]]; then
    sudo "$@"
  else
    "$@"
  fi
}
