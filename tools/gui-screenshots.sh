#!/bin/sh
# Screenshots of OLM Studio for docs/screenshots, under Xvfb with openbox as the
# window manager (apt-get install -y xvfb openbox): the welcome page, a running
# merge of the demo project, the end-of-run summary, the heatmap, scores and
# side-by-side previews, the stale banner after a config edit, and the export
# dialog. EVENTS=FILE also keeps the run's recorded event stream
# (tests/ui/data/demo_run_events.jsonl is one such recording).
#
#   tools/gui-screenshots.sh [BUILD_DIR] [OUT_DIR]      (defaults: build, docs/screenshots)
#
# Two demo merges run side by side (one is caught midway, RUNNING_AFTER
# seconds in: 60 by default). SAMPLES=N scores only N samples per dataset (the
# committed screenshots: SAMPLES=120 RUNNING_AFTER=9 on an idle two-core
# machine, where that merge takes about 19 s).
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-"$ROOT/build"}
OUT=${2:-"$ROOT/docs/screenshots"}
STUDIO="$BUILD/app/olm-studio"
[ -x "$STUDIO" ] || STUDIO="$BUILD/olm-studio"
[ -x "$STUDIO" ] || { echo "olm-studio not found in $BUILD" >&2; exit 1; }
command -v xvfb-run >/dev/null || { echo "xvfb-run missing: apt-get install -y xvfb openbox" >&2; exit 1; }
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
DEMO="$ROOT/resources/demo"
SAMPLES=${SAMPLES:-}
mkconfig() {  # mkconfig FILE OUTPUT_DIR [sed expression]
    sed -e "s#^models_dir: pool#models_dir: $DEMO/pool#" \
        -e "s#^dataset_dir: datasets#dataset_dir: $DEMO/datasets#" \
        -e "s#^output_dir: output#output_dir: $2#" ${SAMPLES:+-e "s#^samples: .*#samples: $SAMPLES#"} \
        ${3:+-e "$3"} "$DEMO/olm_config.yaml" > "$1"
}
mkconfig "$WORK/demo.yaml" "$WORK/out"
mkconfig "$WORK/running.yaml" "$WORK/out_running"
mkconfig "$WORK/stale.yaml" "$WORK/out" "s#^min_words: .*#min_words: 20#"
export OLM_STUDIO_NO_DIALOGS=1
# A fresh settings folder: no recent projects, default window size.
export XDG_CONFIG_HOME="$WORK/config"
shot() {  # shot ARGS...: one olm-studio under a fresh Xvfb with openbox
    xvfb-run -a -s "-screen 0 1440x900x24" sh -c 'openbox >/dev/null 2>&1 & sleep 1; exec "$@"' sh "$STUDIO" "$@"
}
shot --screenshot "$OUT/welcome.png"
shot "$WORK/running.yaml" --run --screenshot "$OUT/running.png" --screenshot-after "${RUNNING_AFTER:-60}" &
RUNNING=$!
OLM_STUDIO_RECORD_EVENTS="$WORK/events.jsonl" shot "$WORK/demo.yaml" --run --screenshot "$WORK/tab{tab}.png"
wait $RUNNING
cp "$WORK/tab0.png" "$OUT/main_window.png"
cp "$WORK/tab1.png" "$OUT/scores.png"
cp "$WORK/tab2.png" "$OUT/previews.png"
cp "$WORK/tab3.png" "$OUT/summary.png"
shot "$WORK/stale.yaml" --screenshot "$OUT/stale.png"
shot "$WORK/demo.yaml" --screenshot "$OUT/export_dialog.png" --export-dialog
if [ -n "${EVENTS:-}" ]; then cp "$WORK/events.jsonl" "$EVENTS"; fi
echo "screenshots in $OUT"
