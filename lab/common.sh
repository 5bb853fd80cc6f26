# shellcheck shell=sh disable=SC2034,SC2154 # $prog is the sourcing script's, $cache is for it
# common.sh - what every lab script and scripts/deps share; they source it
# after setting $prog (the name their messages start with):
#   die MSG          print "$prog: MSG" on stderr and exit 1
#   say MSG          the same without exiting, unless $SPTE_LAB_QUIET is set
#   usage            print the script's header comment (its --help)
#   $cache           the lab cache: $SPTE_LAB_CACHE, else
#                    $XDG_CACHE_HOME/spte-lab, else ~/.cache/spte-lab
#   missing_packages PKG...   the PKGs dpkg does not have installed
#   apt_install PKG...        install those of PKG that are missing
#   apt_update_once           apt-get update, at most once per run
# It is installed beside the lab scripts, which find it next to themselves.

die() { echo "$prog: $*" >&2; exit 1; }
say() { [ -n "${SPTE_LAB_QUIET:-}" ] || echo "$prog: $*" >&2; }

# The comment block between the shebang and `set -eu`, unindented.
usage() { sed -n '2,/^set -eu/s/^# \{0,1\}//p' "$0"; }

cache=${SPTE_LAB_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/spte-lab}

missing_packages() {
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q 'install ok installed' || printf ' %s' "$p"
	done
}

# apt-get as non-root would fail halfway with a confusing message.
as_root() {
	if [ "$(id -u)" = 0 ]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root to run: $*"
	fi
}

apt_updated=
apt_update_once() {
	[ -n "$apt_updated" ] && return 0
	say "running apt-get update"
	as_root apt-get update -qq >&2 || die "apt-get update failed"
	apt_updated=1
}

# Tried first without an update (quick when the lists are fresh); an
# install that fails for stale lists is retried after one.
apt_install() {
	missing=$(missing_packages "$@")
	[ -z "$missing" ] && return 0
	say "installing$missing"
	# shellcheck disable=SC2086 # word splitting of the package list is wanted
	if ! as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $missing >&2; then
		apt_update_once
		# shellcheck disable=SC2086
		as_root env DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends $missing >&2 ||
			die "apt-get install$missing failed"
	fi
}
