#!/usr/bin/env bash
# Writes the manual page olm(1) from the CLI's own help texts, so it never
# drifts from `olm --help` and `olm COMMAND --help`.
# Usage: packaging/make-manpage.sh PATH/TO/olm OUT.1 VERSION
set -euo pipefail
olm="$1" out="$2" version="$3"
esc() { sed -e 's/\\/\\e/g' -e "s/^\\([.']\\)/\\\\\\&\\1/"; }
commands=$("$olm" --help | awk '/^Commands:/{on=1; next} /^$/{on=0} on && /^  [a-z]/{print $1}')
{
  echo ".TH OLM 1 \"\" \"olm $version\" \"OLM Studio\""
  echo ".SH NAME"
  echo "olm \\- Optimized Layer Merging for Hugging Face language models (command line)"
  echo ".SH SYNOPSIS"
  echo ".B olm"
  echo ".I COMMAND"
  echo "[\\fIARGS\\fR...]"
  echo ".br"
  echo ".B olm"
  echo ".I COMMAND"
  echo ".B \\-\\-help"
  echo ".SH DESCRIPTION"
  echo "The headless command line of OLM Studio. It merges several fine-tunes of one"
  echo "base model layer by layer, scoring every candidate layer on evaluation datasets,"
  echo "and writes the merged model as a Hugging Face folder. The desktop application is"
  echo ".BR olm-studio (1)."
  echo ".PP"
  echo ".nf"
  "$olm" --help | esc
  echo ".fi"
  echo ".SH COMMANDS"
  for c in $commands; do
    echo ".SS $c"
    echo ".nf"
    "$olm" "$c" --help | sed '1s/^Usage: //' | esc
    echo ".fi"
  done
  echo ".SH ENVIRONMENT"
  echo ".TP"
  echo ".B HF_HUB_CACHE, HF_HOME"
  echo "The Hugging Face cache where models named org/name are looked up and downloaded"
  echo "(default ~/.cache/huggingface/hub)."
  echo ".TP"
  echo ".B HF_ENDPOINT, HF_TOKEN"
  echo "The Hub address (default https://huggingface.co) and the access token for gated"
  echo "or private repositories."
  echo ".TP"
  echo ".B OLM_RESOURCES_DIR"
  echo "The resources folder (demo project, icons); default: share/olm-studio next to the"
  echo "installed binary."
  echo ".TP"
  echo ".B XDG_DATA_HOME"
  echo "Where the writable copy of the demo project is kept (olm-studio/demo; default"
  echo "~/.local/share)."
  echo ".SH SEE ALSO"
  echo ".BR olm-studio (1)"
} > "$out.tmp"
mv "$out.tmp" "$out"
