#!/bin/sh
# Re-check the .crate hashes (and, when git is available, the tree ids)
# recorded in this audit repository against the registry, with standard
# tools only. Usage: ./verify.sh [CRATE...]
# Environment: CARGOFOX_DL (download URL prefix, default
# https://static.crates.io/crates), a template may use {crate} and {version}.
set -u
DL=${CARGOFOX_DL:-https://static.crates.io/crates}
cd "$(dirname "$0")" || exit 2

fetch() {
  if command -v curl >/dev/null 2>&1; then curl -sSfL "$1"; else wget -qO- "$1"; fi
}
sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum | cut -d' ' -f1; else shasum -a 256 | cut -d' ' -f1; fi
}
json_field() { # file key -> first string value of "key": "..."
  sed -n "s/.*\"$2\": *\"\\([^\"]*\\)\".*/\\1/p" "$1" | head -n 1
}
url_for() { # crate version
  case "$DL" in
    *'{crate}'*|*'{version}'*) printf '%s\n' "$DL" | sed "s/{crate}/$1/g; s/{version}/$2/g" ;;
    *) printf '%s/%s/%s/download\n' "$DL" "$1" "$2" ;;
  esac
}

fail=0; ok=0
tmp=$(mktemp -d) || exit 2
trap 'rm -rf "$tmp"' EXIT
for json in $(find crates -name '*.json' ! -name owners.json 2>/dev/null | sort); do
  name=$(json_field "$json" crate)
  version=$(json_field "$json" version)
  [ -n "$name" ] || continue
  if [ $# -gt 0 ]; then
    want=0; for c in "$@"; do [ "$c" = "$name" ] && want=1; done
    [ $want = 1 ] || continue
  fi
  expected=$(json_field "$json" sha256)
  expected_tree=$(json_field "$json" tree)
  if ! fetch "$(url_for "$name" "$version")" > "$tmp/crate" 2>/dev/null; then
    echo "GONE     $name $version: cannot download"; continue
  fi
  actual=$(sha256 < "$tmp/crate")
  if [ "$actual" != "$expected" ]; then
    echo "MISMATCH $name $version: sha256 $actual, recorded $expected"; fail=$((fail+1)); continue
  fi
  # The tree check needs an archive that unpacks cleanly with tar: one with
  # anomalies or escaped paths (listed in its report) is checked by hash only.
  clean=1
  grep -q '"anomalies": \[\]' "$json" || clean=0
  grep -q '"escaped_paths": \[\]' "$json" || clean=0
  grep -q '"status": "ok"' "$json" || clean=0
  if command -v git >/dev/null 2>&1 && [ -n "$expected_tree" ] && [ $clean = 1 ]; then
    rm -rf "$tmp/u" && mkdir -p "$tmp/u"
    if tar -xzf "$tmp/crate" -C "$tmp/u" 2>/dev/null && [ -d "$tmp/u/$name-$version" ]; then
      tree=$(cd "$tmp/u/$name-$version" && rm -f .cargo-ok && git init -q &&
        printf '* -text -filter -ident -working-tree-encoding\n' > .git/info/attributes &&
        git -c core.autocrlf=false -c core.fileMode=true add -A -f && git write-tree)
      if [ "$tree" != "$expected_tree" ]; then
        echo "MISMATCH $name $version: tree $tree, recorded $expected_tree"; fail=$((fail+1)); continue
      fi
    fi
  fi
  echo "OK       $name $version"; ok=$((ok+1))
done
echo "verified $ok, mismatched $fail"
[ $fail -eq 0 ]
