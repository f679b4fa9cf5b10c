#!/usr/bin/env bash
# Regenerates docs/screenshot.png from a real run: `rollout demo --fail fleet-07` in tmux,
# taken through its gates to the failed fleet gate, captured with colours and rendered
# with charm's freeze. Run it whenever the console's look changes.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v tmux >/dev/null || { echo "needs tmux" >&2; exit 1; }
command -v rsvg-convert >/dev/null || { echo "needs rsvg-convert: apt-get install librsvg2-bin" >&2; exit 1; }
bin=$(mktemp -d)/rollout
go build -o "$bin" ./cmd/rollout
session=rollout-screenshot-$$
trap 'tmux kill-session -t "$session" 2>/dev/null || true' EXIT
tmux new-session -d -s "$session" -x 100 -y 30 "env TERM=xterm-256color COLORTERM=truecolor $bin demo --speed 4 --fail fleet-07; sleep 600"

screen() { tmux capture-pane -p -t "$session"; }
wait_for() { # wait_for TEXT: poll the screen until it shows TEXT
  for _ in $(seq 600); do screen | grep -qF -- "$1" && return 0; sleep 0.1; done
  echo "timed out waiting for: $1" >&2; screen >&2; exit 1
}
for gate in 1 2 3 4 5 6; do
  wait_for "Gate $gate "
  until ! screen | grep -qF "Gate $gate "; do tmux send-keys -t "$session" y; sleep 0.7; done
done
wait_for "FAILED"
sleep 1
tmux capture-pane -e -p -t "$session" > "${bin%/*}/screen.ansi"
# freeze renders SVG; its own PNG path crashes here, so rsvg-convert (Debian's
# librsvg2-bin) rasterises it.
go run github.com/charmbracelet/freeze@v0.2.2 --language ansi --window --padding 20 \
  --font.family "DejaVu Sans Mono" --font.size 14 -o "${bin%/*}/screen.svg" "${bin%/*}/screen.ansi"
rsvg-convert -o docs/screenshot.png "${bin%/*}/screen.svg"
echo "wrote docs/screenshot.png"
