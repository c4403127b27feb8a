# bash completion for twlab(1).
#
# Everything is read from the twlab being completed, so the completion
# follows it without edits: commands from `twlab --help`, a command's
# actions from the usage line of `twlab CMD --help` ("twlab lab up|down|..."),
# options from the usage block and the option lines of `twlab CMD [ACTION]
# --help`, kernel profiles and scenario names from `twlab --version`.

declare -gA _twlab_cache

# Cached output of: twlab ARGS... (keyed by binary and arguments).
_twlab_run()
{
	local key="$_twlab_bin $*"
	if [[ -z ${_twlab_cache[$key]+set} ]]; then
		_twlab_cache[$key]=$("$_twlab_bin" "$@" 2>/dev/null)
	fi
	printf '%s\n' "${_twlab_cache[$key]}"
}

_twlab_commands()
{
	_twlab_run --help | awk '/^commands:/ { f = 1; next } f && /^  [a-z]/ { print $1 }'
}

# Actions of a command: the words after "twlab CMD" in its usage block.
_twlab_actions()
{
	_twlab_run "$1" --help | awk 'NR == 1, /^$/' |
		grep -oE "twlab $1 [a-z][a-z0-9-]*(\|[a-z][a-z0-9-]*)*" |
		awk '{ print $3 }' | tr '|' '\n' | sort -u
}

# Options: every option in the usage block, and the leading options of an
# indented line that starts with '-' (up to its description).
_twlab_options()
{
	echo --help
	_twlab_run "$@" --help | awk '
		NR == 1, /^$/ { print; next }
		/^[ \t]+-/ { s = $0; sub(/^[ \t]+/, "", s); sub(/  .*/, "", s); print s }' |
		grep -oE -- '--?[a-zA-Z][a-zA-Z0-9-]*' | sort -u
}

_twlab_kernels()
{
	_twlab_run --version | awk '/^kernel rules/ { f = 1; next } f && /^  / { print $1; next } f { exit }'
}

# Scenario names as the binary finds them (all its search directories).
_twlab_scenarios()
{
	_twlab_run --version | sed -n 's/^scenarios: *//p' | tr -d ',' | tr ' ' '\n'
}

_twlab()
{
	local cur prev words cword
	_init_completion || return
	_twlab_bin=${words[0]}
	[[ $_twlab_bin == */* ]] && _twlab_bin=$(realpath -- "$_twlab_bin" 2>/dev/null || printf %s "$_twlab_bin")

	if ((cword == 1)); then
		COMPREPLY=($(compgen -W "$(_twlab_commands) --help --version" -- "$cur"))
		return
	fi
	local cmd=${words[1]} action= actions
	actions=$(_twlab_actions "$cmd")
	if [[ -n $actions ]]; then
		if ((cword == 2)); then
			COMPREPLY=($(compgen -W "$actions --help" -- "$cur"))
			return
		fi
		action=${words[2]}
	fi

	case $prev in
	--kernel|--client-kernel|--server-kernel)
		COMPREPLY=($(compgen -W "$(_twlab_kernels)" -- "$cur")); return ;;
	--scenario)
		COMPREPLY=($(compgen -W "$(_twlab_scenarios)" -- "$cur"))
		_filedir ini
		return ;;
	--firewall)
		COMPREPLY=($(compgen -W "linux strict" -- "$cur")); return ;;
	--snat)
		COMPREPLY=($(compgen -W "overload:1 overload:2 one-to-one:16 static masquerade random-fully" -- "$cur")); return ;;
	--substate)
		COMPREPLY=($(compgen -W "time-wait fin-wait2" -- "$cur")); return ;;
	--rfc1337)
		COMPREPLY=($(compgen -W "0 1" -- "$cur")); return ;;
	--netns)
		COMPREPLY=($(compgen -W "$(ls /run/netns 2>/dev/null)" -- "$cur")); return ;;
	--out)
		_filedir -d; return ;;
	--prom | --request)
		_filedir; return ;;
	esac
	# Any other option followed by an argument in --help ("--seq N"): no
	# word to offer.
	if [[ $prev == -* ]] && _twlab_run "$cmd" ${action:+"$action"} --help |
		grep -qE -- "(^|[ [])$prev [A-Z_]"; then
		return
	fi

	if [[ $cur == -* || $cmd != analyze ]]; then
		COMPREPLY=($(compgen -W "$(_twlab_options "$cmd" ${action:+"$action"})" -- "$cur"))
	else
		_filedir '@(pcap|pcapng|cap|pcap.gz)'
	fi
}
complete -F _twlab twlab
