# Sourced by the bench scripts: `need PACKAGE [COMMAND]` installs the Debian package when its
# command (the package's name unless given) is not on PATH, with sudo when not root.
need() {
  local package="$1" command="${2:-$1}"
  command -v "$command" >/dev/null 2>&1 && return 0
  echo "installing $package" >&2
  local sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get install -y "$package" >/dev/null ||
    { "${sudo[@]}" apt-get update >/dev/null && "${sudo[@]}" apt-get install -y "$package" >/dev/null; }
}
