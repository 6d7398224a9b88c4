#!/usr/bin/env bash
# The Debian package, end to end: build it with CPack, check its metadata
# (Depends, desktop entry, AppStream metainfo, manual pages), unpack it into a
# fresh prefix and run olm and olm-studio from the installed files alone, with
# a clean environment (no OLM_RESOURCES_DIR, a fresh HOME), proving that no
# build-tree path is used.
# Usage: test_package.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$(cd "$1" && pwd)" src="$(cd "$2" && pwd)"
work="$(mktemp -d /tmp/olm-package-test.XXXXXX)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo; echo "== $*"; }

step "cpack -G DEB"
(cd "$build" && cpack -G DEB -B "$work/pkg" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
deb="$(ls "$work"/pkg/olm-studio_*.deb)"
echo "$(basename "$deb"): $(stat -c %s "$deb") bytes"

step "dpkg-deb --info"
dpkg-deb --info "$deb"
step "dpkg-deb --contents"
dpkg-deb --contents "$deb"

step "Depends"
depends="$(dpkg-deb -f "$deb" Depends)"
for want in libtorch libopenblas0-pthread libqt6widgets6 libqt6charts6 libyaml-cpp libpcre2-8 libutf8proc \
            libcurl4 libssl3 qt6-qpa-plugins libc6 libstdc++6; do
  grep -q "$want" <<<"$depends" || fail "Depends lacks $want: $depends"
done
# Every package named there is a real, installed one (the binaries run here).
for pkg in $(sed -e 's/([^)]*)//g' -e 's/|/,/g' <<<"$depends" | tr ',' '\n' | awk '{print $1}'); do
  dpkg -s "$pkg" >/dev/null 2>&1 || fail "Depends names $pkg, which is not an installed package"
done
echo "ok: $(tr ',' '\n' <<<"$depends" | wc -l) dependencies, all installed packages"

prefix="$work/root"
dpkg-deb -x "$deb" "$prefix"
for f in usr/bin/olm usr/bin/olm-studio usr/share/olm-studio/demo/olm_config.yaml \
         usr/share/olm-studio/demo/pool/base/model.safetensors usr/share/applications/olm-studio.desktop \
         usr/share/icons/hicolor/scalable/apps/olm-studio.svg usr/share/icons/hicolor/256x256/apps/olm-studio.png \
         usr/share/metainfo/org.olmstudio.OlmStudio.metainfo.xml usr/share/mime/packages/olm-studio.xml \
         usr/share/man/man1/olm.1.gz usr/share/man/man1/olm-studio.1.gz; do
  [ -e "$prefix/$f" ] || fail "missing /$f"
done

step "no build-tree path in the installed binaries"
for b in olm olm-studio; do
  if strings "$prefix/usr/bin/$b" | grep -F -e "$src" -e "$build"; then fail "$b holds a build-tree path"; fi
  if readelf -d "$prefix/usr/bin/$b" | grep -E 'RPATH|RUNPATH'; then fail "$b has an RPATH"; fi
done
echo "ok"

step "desktop-file-validate, appstreamcli validate"
desktop-file-validate "$prefix/usr/share/applications/olm-studio.desktop"
appstreamcli validate --no-net "$prefix/usr/share/metainfo/org.olmstudio.OlmStudio.metainfo.xml"

step "manual pages"
zcat "$prefix/usr/share/man/man1/olm.1.gz" >"$work/olm.1"
for sect in '^\.TH OLM 1' '^\.SH SYNOPSIS' '^\.SS merge$' '^\.SS download$' '^\.SS demo$' '^\.SS inspect$'; do
  grep -q "$sect" "$work/olm.1" || fail "olm.1 lacks $sect"
done
if command -v man >/dev/null; then
  MANWIDTH=80 man -l "$work/olm.1" 2>/dev/null | sed -n '1,12p'
fi

# The installed programs, alone: a clean environment, a fresh HOME.
run_installed() {
  env -i PATH=/usr/bin:/bin HOME="$work/home" XDG_DATA_HOME="$work/data" OMP_NUM_THREADS=1 \
    OPENBLAS_NUM_THREADS=1 QT_QPA_PLATFORM=offscreen "$@"
}
mkdir -p "$work/home"
find "$prefix" | sort >"$work/tree.before"

step "olm --version"
run_installed "$prefix/usr/bin/olm" --version

step "olm demo --search original"
(cd "$work/home" && run_installed timeout 840 "$prefix/usr/bin/olm" demo --search original \
   --out "$work/demo-out") >"$work/demo.out" 2>"$work/demo.err" || { cat "$work/demo.err"; fail "olm demo"; }
cat "$work/demo.out"
grep -F "olm demo: copied the demo project from $prefix/usr/share/olm-studio/demo to $work/data/olm-studio/demo" \
  "$work/demo.err" || { cat "$work/demo.err"; fail "olm demo did not say where it copied the demo"; }
grep -q "^search: original" "$work/demo.out" || fail "no demo table"
grep -q "exported model re-scored from disk: reproduces" "$work/demo.out" || fail "the export does not reproduce"
[ -f "$work/demo-out/original/merge_report.json" ] || fail "no merge report"

step "olm-studio --demo --screenshot (offscreen)"
rm -rf "$work/data"   # the GUI makes its own copy too
run_installed timeout 300 "$prefix/usr/bin/olm-studio" --demo --screenshot "$work/studio.png" 2>"$work/studio.err" ||
  { cat "$work/studio.err"; fail "olm-studio"; }
cat "$work/studio.err"
grep -q "copied the demo project from $prefix/usr/share/olm-studio/demo" "$work/studio.err" || fail "olm-studio did not say where"
[ -f "$work/data/olm-studio/demo/olm_config.yaml" ] || fail "no writable demo copy"
file "$work/studio.png" | grep -q "PNG image data" || fail "no screenshot"
echo "screenshot: $(file -b "$work/studio.png"), $(stat -c %s "$work/studio.png") bytes"
if [ -n "${OLM_PACKAGE_SCREENSHOT:-}" ]; then cp "$work/studio.png" "$OLM_PACKAGE_SCREENSHOT"; fi

step "the installed tree was not written to"
find "$prefix" | sort >"$work/tree.after"
diff "$work/tree.before" "$work/tree.after" || fail "files appeared in the installed tree"
echo "ok"
echo
echo "package test: passed"
