# Sourced by the scripts that take packages from a newer Debian suite than the machine's
# (python-sqlalchemy2.sh: trixie; mysql-server.sh: sid). apt works from a sources list and state
# of its own in a temporary folder: signatures are checked against Debian's keyring, and the
# machine's own apt setup and installed packages are left alone.

# debian_suite <suite> <folder>: sets APT to that apt-get command line and reads the suite's index.
debian_suite() {
  local suite="$1" work="$2"
  mkdir -p "$work/lists/partial" "$work/cache/archives/partial"
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" >"$work/sources.list"
  APT=(apt-get -q
    -o "Dir::Etc::SourceList=$work/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o Dir::State::status=/dev/null
    -o Debug::NoLocking=1 -o APT::Sandbox::User=root -o APT::Architecture=amd64)
  "${APT[@]}" update >&2
}

# debian_unpack <target> <package>…: downloads the packages (after debian_suite) and unpacks them into <target>, emptied first.
debian_unpack() {
  local target="$1" debs
  shift
  debs="$(mktemp -d)"
  (cd "$debs" && "${APT[@]}" download "$@" >&2)
  rm -rf "$target"
  mkdir -p "$target"
  for deb in "$debs"/*.deb; do dpkg-deb -x "$deb" "$target"; done
  rm -rf "$debs"
}
