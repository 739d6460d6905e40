# shellcheck shell=sh
# tests/boards/uci-shim.sh -- a stand-in for OpenWrt's /lib/functions.sh
# (config_load, config_get, config_get_bool, config_foreach,
# config_list_foreach) and the procd helpers an init script calls, so that
# examples/openwrt/minidock/files/minidock.init can be sourced and its
# functions run on a build machine. UCI_CONFIG_DIR (default /etc/config)
# holds the config files. Handles what `uci export` writes: config, option
# and list lines with single- or double-quoted or bare values.

UCI_CONFIG_DIR=${UCI_CONFIG_DIR:-/etc/config}
_UCI_DB=""

config_load() {
	_UCI_DB=$(awk '
		function val(s) {
			sub(/^[ \t]+/, "", s); sub(/[ \t]+$/, "", s)
			if (s ~ /^'\''.*'\''$/ || s ~ /^".*"$/) s = substr(s, 2, length(s) - 2)
			return s
		}
		/^[ \t]*(#|$)/ { next }
		$1 == "config" { n++; type = $2; gsub(/['\''"]/, "", type)
			name = (NF >= 3) ? $3 : "cfg" n; gsub(/['\''"]/, "", name)
			printf "S\t%s\t%s\n", name, type; sec = name; next }
		$1 == "option" || $1 == "list" { k = $2; line = $0
			sub(/^[ \t]*(option|list)[ \t]+[^ \t]+/, "", line)
			printf "%s\t%s\t%s\t%s\n", ($1 == "option" ? "O" : "L"), sec, k, val(line) }
	' "$UCI_CONFIG_DIR/$1")
}

# config_get VAR SECTION OPTION [DEFAULT]
config_get() {
	_v=$(printf '%s\n' "$_UCI_DB" | awk -F '\t' -v s="$2" -v k="$3" \
		'$1 == "O" && $2 == s && $3 == k { v = $4; f = 1 } END { if (f) print v; else exit 1 }') || _v=${4:-}
	eval "$1=\$_v"
}

config_get_bool() {
	config_get "$1" "$2" "$3" "${4:-0}"
	eval "_b=\$$1"
	case $_b in 1 | on | true | yes | enabled) _b=1 ;; *) _b=0 ;; esac
	eval "$1=\$_b"
}

# config_foreach FUNCTION TYPE: FUNCTION SECTION for each section of TYPE
config_foreach() {
	for _s in $(printf '%s\n' "$_UCI_DB" | awk -F '\t' -v t="$2" '$1 == "S" && $3 == t { print $2 }'); do
		"$1" "$_s"
	done
}

# config_list_foreach SECTION OPTION FUNCTION: FUNCTION VALUE for each item
config_list_foreach() {
	_items=$(printf '%s\n' "$_UCI_DB" | awk -F '\t' -v s="$1" -v k="$2" '$1 == "L" && $2 == s && $3 == k { print $4 }')
	[ -n "$_items" ] || return 0
	_f=$3
	_old_ifs=$IFS
	IFS='
'
	for _i in $_items; do
		IFS=$_old_ifs
		"$_f" "$_i"
	done
	IFS=$_old_ifs
}

procd_add_reload_trigger() { :; }
