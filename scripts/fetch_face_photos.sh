#!/usr/bin/env bash
# Re-derive the face photographs shipped in src/me_emotion/datasets/face_photos/
# (the synthetic demo's subjects) from their Debian packages: downloads the
# originals into data/01_raw/face_photos/ (or $1), each checked against the
# `original_sha256` of face_photos/manifest.json. No root needed:
# `apt-get download` + `dpkg-deb -x` into a temporary folder (about 80 MB of
# packages), then only the chosen files are copied. Eight files ship as they
# are; barkla and mendeleev ship downscaled / cropped as the manifest's
# `processing` says. Sources and licences: docs/synthetic.md, "Photographs".
set -euo pipefail
dest="${1:-data/01_raw/face_photos}"
for tool in apt-get dpkg-deb sha256sum; do
    command -v "$tool" >/dev/null || {
        echo "fetch_face_photos.sh needs '$tool' (Debian/Ubuntu); it is missing" >&2
        exit 1
    }
done
# package | path inside the package | file name here | sha256
photos="
python-xraylarch-doc|usr/share/doc/python-xraylarch-doc/examples/xraytable/images/Charles_Barkla.jpg|barkla.jpg|8f1b429c8826d367b8ce9fefe4c19ea007a978de6f1923648655c30262b34804
python-xraylarch-doc|usr/share/doc/python-xraylarch-doc/examples/xraytable/images/Henry_Moseley.jpg|moseley.jpg|9bea430f4853700ce091f2102087a774ed7f2a0543137db54a1bcb7ad6d1b9a6
python-xraylarch-doc|usr/share/doc/python-xraylarch-doc/examples/xraytable/images/Marie_Curie.jpg|curie.jpg|3aa8a85cca6c0f022806407931b758efff80f05a1a79f3972d070eb817fc13ef
python-xraylarch-doc|usr/share/doc/python-xraylarch-doc/examples/xraytable/images/Dmitri_Mendeleev.jpg|mendeleev.jpg|c61eb57d78015df7821c043916613d3f6bc2417d751fd6871b3ae825f81fa3bb
macaulay2-common|usr/share/Macaulay2/Style/grayson2005.jpg|grayson.jpg|da3449f18bddd7c68623e61f8115ee0a95408784455bdfeb96712d3544d46f81
macaulay2-common|usr/share/Macaulay2/Style/stillman.jpg|stillman.jpg|4d66354d2bceb3f47c08242549e6afc0971f541cb47003bf3856a55f03948c38
kphotoalbum|usr/share/kphotoalbum/demo/jesper_2.jpg|jesper.jpg|e7c5112cad4076c0b16f7a822b0bf559859ad84077705442769afb91c81bcb1b
gramps|usr/share/doc/gramps/example/gramps/E_W_Dahlgren.jpg|dahlgren.jpg|c88a839c7619af83a81e0fbb9a45bb425afcef505b813d970467dc7cabf91deb
gramps|usr/share/doc/gramps/example/gramps/654px-Aksel_Andersson.jpg|andersson.jpg|008db50ce49674f9ecf70d45202010d3c291b1f8f50a171370f486dbe770a4c1
gramps|usr/share/doc/gramps/example/gramps/Alimehemet.jpg|alimehemet.jpg|c1a6f854038d0b953723f60655806815c19ad7637019cda0936ed2abc4f35af3
"
mkdir -p "$dest"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
packages="$(echo "$photos" | grep '|' | cut -d'|' -f1 | sort -u)"
missing=0
while IFS='|' read -r _ _ name sum; do
    [ -n "$name" ] || continue
    if [ ! -f "$dest/$name" ] || ! echo "$sum  $dest/$name" | sha256sum --check --status; then
        missing=1
    fi
done <<<"$photos"
[ "$missing" = 1 ] || exit 0  # idempotent: everything present and verified
echo "==> downloading face photographs from Debian packages: $(echo $packages)"
(cd "$work" && apt-get download $packages) || {
    echo "apt-get download failed (no Debian mirror reachable?); see docs/synthetic.md, Photographs" >&2
    exit 1
}
for deb in "$work"/*.deb; do
    pkg="$(basename "$deb")"; pkg="${pkg%%_*}"
    mkdir -p "$work/x/$pkg"
    dpkg-deb -x "$deb" "$work/x/$pkg"
done
while IFS='|' read -r pkg path name sum; do
    [ -n "$name" ] || continue
    got="$(sha256sum "$work/x/$pkg/$path" | cut -d' ' -f1)"
    if [ "$got" != "$sum" ]; then
        echo "sha256 of $pkg:/$path is $got, expected $sum (package version changed?)" >&2
        exit 1
    fi
    cp "$work/x/$pkg/$path" "$dest/$name"
done <<<"$photos"
echo "==> $(ls "$dest" | wc -l) face photographs in $dest"
