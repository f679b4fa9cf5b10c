#!/usr/bin/env bash
# peers: rollout against the usual SSH fan-out tools, side by side, on one
# private loopback sshd, in one sitting.
#
#   bench/peers.sh                                   # the three workloads, ROUNDS=3
#   WORKLOADS=small bench/peers.sh                   # 20 hosts, a quick check of the bed
#   WORKLOADS="h100 sleep100" ROUNDS=5 bench/peers.sh
#   WORKLOADS=h500 ROUNDS=1 PEERS="rollout xargs-c25519" bench/peers.sh
#
# Workloads (name: command, hosts, concurrency):
#   h100:     'hostname; echo ok', 100 hosts, 50 at once
#   h500:     'hostname; echo ok', 500 hosts, 100 at once   (rounds: LARGE_ROUNDS, default ROUNDS)
#   sleep100: 'sleep 1; echo ok',  100 hosts, 20 at once    (ideal 5 s)
#   small:    'hostname; echo ok', 20 hosts, 10 at once
#   all:      h100 sleep100 h500 (the default)
#
# The bed: an OpenSSH sshd on 127.0.0.1 with its own host key, run as
# `tini -s -- sshd -D` so that every process it forks, orphans included, is
# reaped inside the tree whose CPU is read from /proc (utime+stime+cutime+
# cstime of tini and sshd, read once sshd has no child left); a dedicated
# user (rolloutbench, /bin/sh as shell, an empty home: no rc file runs); N
# aliases host-001.. all → 127.0.0.1; a known_hosts that holds every alias's
# key, checked by every tool (StrictHostKeyChecking yes; rollout always
# checks). The sshd allows MaxStartups 1000:30:2000 — a fleet-facing sshd
# would raise it likewise, the default 10:30:100 drops connections of any
# client that opens more than 10 at once — and MaxSessions is left at 10.
#
# Tools (PEERS selects; default all, "n/a" when not installed):
#   rollout        one whole rollout: `rollout run --plain --yes
#                  --no-preflight`, `lock: false`, test phase (host-001),
#                  then the fleet (the rest) in one batch at parallel =
#                  concurrency; apply = the command, verify = `true`: two
#                  commands per host, journal on (fsync'd). The same work as
#                  a peer's fan-out, plus verify and the journal.
#   rollout-guarded  the same with rollout's defaults on: preflight (every
#                  host reached and locked before the test phase) and the
#                  remote lock released at the end — one more command and
#                  one more connection per host, which no peer does
#   pssh           parallel-ssh -i -p P
#   pdsh           pdsh -R ssh -f P
#   clush          clush -f P
#   xargs          xargs -P P ssh, one ssh per host
#   xargs-c25519   the same with -o KexAlgorithms=curve25519-sha256, the key
#                  exchange x/crypto's defaults get from an sshd before 9.9
#   xargs-p256     the same with -o KexAlgorithms=ecdh-sha2-nistp256, the one
#                  rollout prefers there (cheaper for sshd): same crypto
#   ansible-raw    ansible all -m raw -f P
#   ansible-cmd    ansible all -m command -a "sh -c '…'" -f P
# Every tool runs as root with the same client key, the same ssh_config
# (-F; the agent is unset), against the same hosts.
#
# Measured per run: wall time; client CPU (user+sys of the tool and every
# process it waited for, GNU time); sshd CPU (see above); peak client RSS
# (the larger of GNU time's max RSS of one process and the sum over the
# tool's process tree sampled every 0.25 s); and, to tell a disturbed run,
# the CPU the rest of the machine used meanwhile (busy time in /proc/stat
# less the client's and sshd's; the RSS sampler is part of it). Every run
# must reach every host: N lines "ok" and exit status 0, else the script
# says so and fails.
# rollout's "fleet" column is its fleet phase alone, from its journal.
#
# Needs root (it adds the user rolloutbench and uses /run/sshd), sshd, ssh,
# tini, GNU time and go. Leaves nothing but the user behind.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin:$PATH
unset SSH_AUTH_SOCK SSH_AGENT_PID
export LC_ALL=C.UTF-8

ROUNDS=${ROUNDS:-3}
LARGE_ROUNDS=${LARGE_ROUNDS:-$ROUNDS}
WORKLOADS=${WORKLOADS:-all}
ALL_PEERS="rollout rollout-guarded pssh pdsh clush xargs xargs-c25519 xargs-p256 ansible-raw ansible-cmd"
PEERS=${PEERS:-$ALL_PEERS}
SSHD=${SSHD:-/usr/sbin/sshd}
BUSER=${BUSER:-rolloutbench}
KEEP=${KEEP:-}          # set: keep the temporary directory (outputs, journals)
ROLLOUT_BIN=${ROLLOUT_BIN:-}  # a prebuilt binary; built from this tree when empty
PY=/usr/bin/python3

[ "$(id -u)" = 0 ] || { echo "peers: run as root" >&2; exit 1; }
command -v tini >/dev/null || { echo "peers: needs tini (apt-get install tini)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "peers: needs GNU time (apt-get install time)" >&2; exit 1; }

case "$WORKLOADS" in
  all) WORKLOADS="h100 sleep100 h500" ;;
esac
maxn=0
for w in $WORKLOADS; do
  case $w in
    small) n=20 ;; h100 | sleep100) n=100 ;; h500) n=500 ;;
    h[0-9]*) n=${w#h} ;;
    *) echo "peers: unknown workload $w" >&2; exit 2 ;;
  esac
  [ "$n" -gt "$maxn" ] && maxn=$n
done
NMAX=${NMAX:-$maxn}

tmp=$(mktemp -d /tmp/peers.XXXXXX)
chmod 711 "$tmp"
tini_pid=
sampler_pid=
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null || true
  if [ -n "$tini_pid" ]; then kill "$tini_pid" 2>/dev/null || true; wait "$tini_pid" 2>/dev/null || true; fi
  if [ -n "$KEEP" ]; then echo "peers: kept $tmp" >&2; else rm -rf "$tmp"; fi
}
trap cleanup EXIT

# --- the bench user: /bin/sh, an empty home, nothing to source ---
if ! id "$BUSER" >/dev/null 2>&1; then
  mkdir -p "$tmp/skel"
  useradd --system --create-home --home-dir "/var/lib/$BUSER" --skel "$tmp/skel" --shell /bin/sh "$BUSER"
fi
# A locked account ("!" as password) is refused by sshd without PAM; "*"
# is no password at all, and not locked.
usermod -p '*' "$BUSER"
bhome=$(getent passwd "$BUSER" | cut -d: -f6)
[ -d "$bhome" ] || { mkdir -p "$bhome"; chown "$BUSER" "$bhome"; }

# --- keys, port, sshd ---
ssh-keygen -q -t ed25519 -N '' -f "$tmp/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/id_ed25519"
cp "$tmp/id_ed25519.pub" "$tmp/authorized_keys"
chmod 644 "$tmp/authorized_keys"
port=
for p in $(shuf -i 20000-60000 -n 50); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "peers: no free port found" >&2; exit 1; }
cat >"$tmp/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $tmp/host_ed25519
AuthorizedKeysFile $tmp/authorized_keys
PidFile none
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $BUSER
MaxStartups 1000:30:2000
MaxSessions 10
LogLevel ERROR
EOF
mkdir -p /run/sshd
tini -s -- "$SSHD" -D -e -f "$tmp/sshd_config" 2>"$tmp/sshd.log" &
tini_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done
sshd_pid=$(pgrep -P "$tini_pid" -x sshd)
[ -n "$sshd_pid" ] || { echo "peers: sshd did not start:" >&2; cat "$tmp/sshd.log" >&2; exit 1; }

# --- aliases, known_hosts, ssh_config ---
key=$(cut -d' ' -f1,2 "$tmp/host_ed25519.pub")
{
  echo "[127.0.0.1]:$port $key"
  for i in $(seq 1 "$NMAX"); do printf '[host-%03d]:%s %s\n' "$i" "$port" "$key"; done
} >"$tmp/known_hosts"
{
  for i in $(seq 1 "$NMAX"); do printf 'Host host-%03d\n  HostName 127.0.0.1\n' "$i"; done
  cat <<EOF
Host *
  Port $port
  User $BUSER
  IdentityFile $tmp/id_ed25519
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile $tmp/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ControlMaster no
  ControlPath none
  LogLevel ERROR
EOF
} >"$tmp/ssh_config"

# --- rollout ---
if [ -z "$ROLLOUT_BIN" ]; then
  go build -o "$tmp/rollout" ./cmd/rollout
  ROLLOUT_BIN=$tmp/rollout
fi

# --- ansible: its own home and config, host key checking on ---
export ANSIBLE_HOME=$tmp/ansible ANSIBLE_CONFIG=$tmp/ansible.cfg ANSIBLE_LOCAL_TEMP=$tmp/ansible/tmp
export ANSIBLE_HOST_KEY_CHECKING=True ANSIBLE_PYTHON_INTERPRETER=/usr/bin/python3
export ANSIBLE_SSH_CONTROL_PATH_DIR=$tmp/ansible/cp ANSIBLE_NOCOLOR=1 ANSIBLE_DEPRECATION_WARNINGS=False
# Ansible's default ssh_args, with ControlPersist cut from 60 s to 2 s so the
# masters it leaves behind close before the next tool is timed.
export ANSIBLE_SSH_ARGS="-C -o ControlMaster=auto -o ControlPersist=2s"
mkdir -p "$tmp/ansible/tmp" "$tmp/ansible/cp"
: >"$tmp/ansible.cfg"

have() {
  case $1 in
    rollout|rollout-guarded) [ -x "$ROLLOUT_BIN" ] ;;
    pssh) command -v parallel-ssh >/dev/null || command -v pssh >/dev/null ;;
    pdsh) command -v pdsh >/dev/null ;;
    clush) command -v clush >/dev/null ;;
    xargs | xargs-c25519 | xargs-p256) command -v ssh >/dev/null ;;
    ansible-raw | ansible-cmd) command -v ansible >/dev/null ;;
    *) return 1 ;;
  esac
}
pssh_bin=$(command -v parallel-ssh || command -v pssh || true)

# setup_workload N P CMD: host list, inventory, change.
setup_workload() {
  local n=$1 p=$2 cmd=$3 d=$tmp/w
  rm -rf "$d"; mkdir -p "$d"
  printf 'host-%03d\n' $(seq 1 "$n") >"$d/hosts"
  { echo '[all]'; cat "$d/hosts"; echo
    echo '[all:vars]'
    echo "ansible_user=$BUSER"
    echo "ansible_ssh_common_args='-F $tmp/ssh_config'"
  } >"$d/ansible.ini"
  local last
  last=$(printf '%03d' "$n")
  cat >"$d/inventory.yaml" <<EOF
defaults:
  user: $BUSER
  port: $port
  identity_file: $tmp/id_ed25519
  known_hosts: $tmp/known_hosts
services:
  bench:
    test: [host-001]
    fleet:
      - "host-[002:$last]"
hosts:
  "host-[001:$last]": { address: 127.0.0.1 }
EOF
  cat >"$d/change.yaml" <<EOF
name: bench
apply: $(printf '%s' "$cmd" | $PY -c 'import json,sys; print(json.dumps(sys.stdin.read()))')
verify: "true"
rollback: "true"
fleet: { batches: [100%], parallel: $p, max_failures: 0 }
EOF
  { cat "$d/change.yaml"; echo "lock: false"; } >"$d/change-nolock.yaml"
}

# run_tool TOOL N P CMD: runs it once, writing the output to $tmp/out.
run_tool() {
  local tool=$1 n=$2 p=$3 cmd=$4 d=$tmp/w
  case $tool in
    rollout)
      rm -rf "$d/state"
      "$ROLLOUT_BIN" run --plain --yes --no-preflight -i "$d/inventory.yaml" -c "$d/change-nolock.yaml" \
        --state-dir "$d/state" --ssh-config "" </dev/null ;;
    rollout-guarded)
      rm -rf "$d/state"
      "$ROLLOUT_BIN" run --plain --yes -i "$d/inventory.yaml" -c "$d/change.yaml" \
        --state-dir "$d/state" --ssh-config "" </dev/null ;;
    pssh)
      "$pssh_bin" -h "$d/hosts" -p "$p" -t 0 -i -x "-F $tmp/ssh_config" "$cmd" ;;
    pdsh)
      PDSH_SSH_ARGS="-F $tmp/ssh_config -x %h" pdsh -R ssh -f "$p" -w "^$d/hosts" "$cmd" ;;
    clush)
      clush -f "$p" -o "-F $tmp/ssh_config" -w "host-[001-$(printf '%03d' "$n")]" "$cmd" ;;
    xargs)
      xargs -P "$p" -I{} ssh -F "$tmp/ssh_config" {} "$cmd" <"$d/hosts" ;;
    xargs-c25519)
      xargs -P "$p" -I{} ssh -F "$tmp/ssh_config" -o KexAlgorithms=curve25519-sha256 {} "$cmd" <"$d/hosts" ;;
    xargs-p256)
      xargs -P "$p" -I{} ssh -F "$tmp/ssh_config" -o KexAlgorithms=ecdh-sha2-nistp256 {} "$cmd" <"$d/hosts" ;;
    ansible-raw)
      ansible all -i "$d/ansible.ini" -m raw -a "$cmd" -f "$p" ;;
    ansible-cmd)
      ansible all -i "$d/ansible.ini" -m command -a "sh -c '$cmd'" -f "$p" ;;
  esac
}

# ok lines each tool prints for a host that printed "ok".
count_ok() {
  case $1 in
    rollout|rollout-guarded) grep -cE ' \| ok$' "$tmp/out" || true ;;
    pdsh | clush) grep -cE '^host-[0-9]+: ok$' "$tmp/out" || true ;;
    *) grep -cE $'^ok\r?$' "$tmp/out" || true ;;  # ansible's raw runs with a tty: CRLF
  esac
}

ticks=$(getconf CLK_TCK)
# CPU seconds of the sshd tree: tini and sshd, self and reaped children.
sshd_cpu() {
  awk -v t="$ticks" '{ s += $14 + $15 + $16 + $17 } END { printf "%.3f", s / t }' \
    <(sed 's/^.*) //; s/^/x x /' "/proc/$tini_pid/stat") <(sed 's/^.*) //; s/^/x x /' "/proc/$sshd_pid/stat")
}
# Busy CPU seconds of the whole machine.
busy_cpu() {
  awk -v t="$ticks" '/^cpu / { printf "%.3f", ($2 + $3 + $4 + $7 + $8 + $9) / t; exit }' /proc/stat
}
# Waits until every process sshd started is gone (and reaped), so that its
# CPU is counted; at most 60 s.
sshd_quiet() {
  local i
  for i in $(seq 1200); do
    if [ -z "$(pgrep -P "$sshd_pid")" ] && [ "$(pgrep -P "$tini_pid" | wc -l)" -le 1 ]; then return 0; fi
    sleep 0.05
  done
  echo "peers: sshd still has children after 60 s" >&2
}
# Peak RSS (KiB) of the process tree under $1, sampled every 0.25 s, into $2.
sample_rss() {
  local root=$1 outf=$2 peak=0 cur
  while kill -0 "$root" 2>/dev/null; do
    cur=$(ps -e -o pid=,ppid=,rss= | awk -v r="$root" '
      { pp[$1] = $2; rss[$1] = $3 }
      END { for (p in pp) { q = p; while (q != "" && q != 0 && q != 1) { if (q == r) { s += rss[p]; break } q = pp[q] } } print s + 0 }')
    [ "$cur" -gt "$peak" ] && peak=$cur && echo "$peak" >"$outf"
    sleep 0.25
  done
}

results=$tmp/results.tsv
: >"$results"
fail=0
# one TOOL WORKLOAD ROUND N P CMD
one() {
  local tool=$1 w=$2 r=$3 n=$4 p=$5 cmd=$6 rc=0
  sshd_quiet
  local s0 s1 peak=0
  s0=$(sshd_cpu)
  local b0 b1
  b0=$(busy_cpu)
  echo 0 >"$tmp/rss"
  /usr/bin/time -f '%e %U %S %M' -o "$tmp/time" bash -c "$(declare -f run_tool); $(declare -p tmp pssh_bin ROLLOUT_BIN port); run_tool \"\$@\"" _ "$tool" "$n" "$p" "$cmd" \
    >"$tmp/out" 2>"$tmp/err" &
  local pid=$!
  sample_rss "$pid" "$tmp/rss" &
  sampler_pid=$!
  wait "$pid" || rc=$?
  wait "$sampler_pid" 2>/dev/null || true
  sampler_pid=
  sshd_quiet
  s1=$(sshd_cpu)
  b1=$(busy_cpu)
  local wall ucpu scpu maxrss ok fleet=
  read -r wall ucpu scpu maxrss < <(tail -1 "$tmp/time")
  peak=$(cat "$tmp/rss")
  [ "$maxrss" -gt "$peak" ] && peak=$maxrss
  ok=$(count_ok "$tool")
  if [ "$tool" = rollout ]; then
    fleet=$($PY - "$tmp/w/state" <<'EOF'
import glob, json, sys, datetime
def t(s):
    s = s.rstrip('Z')
    if '.' in s:
        a, b = s.split('.')
        s = a + '.' + (b + '000000')[:6]
    return datetime.datetime.fromisoformat(s)
start = end = None
for f in glob.glob(sys.argv[1] + '/*.journal'):
    for line in open(f):
        r = json.loads(line)
        if r.get('type') == 'phase_started' and r['data']['phase'] == 'fleet': start = t(r['time'])
        if r.get('type') == 'phase_finished' and r['data']['phase'] == 'fleet': end = t(r['time'])
print('%.3f' % (end - start).total_seconds() if start and end else '')
EOF
)
  fi
  local status=ok
  if [ "$rc" != 0 ] || [ "$ok" != "$n" ]; then
    status="FAILED(rc=$rc,ok=$ok/$n)"
    fail=1
    mkdir -p "$tmp/failed"
    cp "$tmp/out" "$tmp/failed/$tool-$w-$r.out"; cp "$tmp/err" "$tmp/failed/$tool-$w-$r.err"
    echo "--- $tool $w round $r failed; last lines of its stderr:" >&2
    tail -5 "$tmp/err" >&2
  fi
  local cpu
  cpu=$(echo "$ucpu + $scpu" | bc)
  local sshd other
  sshd=$(echo "$s1 - $s0" | bc)
  other=$(echo "$b1 - $b0 - $cpu - $sshd" | bc)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$w" "$tool" "$r" "$wall" "$cpu" "$sshd" "$peak" "$status" "$fleet" "$other" >>"$results"
  printf '  %-13s round %d: wall %6.2fs  client cpu %6.2fs  sshd cpu %6.2fs  peak rss %7d KiB  %s%s  (rest of the machine %.2fs cpu)\n' \
    "$tool" "$r" "$wall" "$cpu" "$sshd" "$peak" "$status" "${fleet:+  fleet ${fleet}s}" "$other"
}

# BED=1: set the bed up for NMAX hosts, say where it is, and wait (until
# killed) instead of timing anything: for profiling by hand.
if [ -n "${BED:-}" ]; then
  printf 'tmp=%s port=%s tini_pid=%s sshd_pid=%s BUSER=%s ROLLOUT_BIN=%s\n' \
    "$tmp" "$port" "$tini_pid" "$sshd_pid" "$BUSER" "$ROLLOUT_BIN" >"$tmp/env.sh"
  setup_workload "$NMAX" "${P:-50}" "${CMD:-hostname; echo ok}"
  echo "peers: bed ready: . $tmp/env.sh; inventory and change in $tmp/w; ssh -F $tmp/ssh_config host-001"
  trap 'exit 0' TERM INT
  while :; do sleep 1; done
fi

echo "peers: $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(free -h | awk '/^Mem:/ {print $2}') RAM"
echo "peers: $(ssh -V 2>&1), sshd on 127.0.0.1:$port under tini -s, user $BUSER"
echo "peers: rollout $("$ROLLOUT_BIN" --version 2>&1 | head -1), $(go version | cut -d' ' -f3)"

# Warm-up: page cache, sshd's first forks, python's bytecode; fails loudly
# if the bed does not work.
setup_workload 2 2 'echo ok'
ssh -F "$tmp/ssh_config" host-001 'echo ok' >/dev/null
for tool in $PEERS; do
  have "$tool" || continue
  if ! run_tool "$tool" 2 2 'echo ok' >"$tmp/out" 2>"$tmp/err"; then
    echo "peers: warm-up of $tool failed:" >&2; cat "$tmp/err" >&2; exit 1
  fi
done
sshd_quiet

for w in $WORKLOADS; do
  rounds=$ROUNDS
  case $w in
    small) n=20 p=10 cmd='hostname; echo ok' ;;
    h100) n=100 p=50 cmd='hostname; echo ok' ;;
    h500) n=500 p=100 cmd='hostname; echo ok'; rounds=$LARGE_ROUNDS ;;
    sleep100) n=100 p=20 cmd='sleep 1; echo ok' ;;
    h[0-9]*) n=${w#h} p=${P:-100} cmd='hostname; echo ok' ;;
  esac
  setup_workload "$n" "$p" "$cmd"
  echo
  echo "== $w: '$cmd' on $n hosts, concurrency $p, $rounds round(s)"
  for r in $(seq 1 "$rounds"); do
    for tool in $PEERS; do
      have "$tool" || continue
      one "$tool" "$w" "$r" "$n" "$p" "$cmd"
    done
  done
done

echo
$PY - "$results" "$ALL_PEERS" "$PEERS" "$(nproc)" <<'EOF'
import sys, statistics
rows = [l.rstrip('\n').split('\t') for l in open(sys.argv[1]) if l.strip()]
all_peers, peers, cores = sys.argv[2].split(), sys.argv[3].split(), int(sys.argv[4])
desc = {'small': "'hostname; echo ok', 20 hosts, concurrency 10",
        'h100': "'hostname; echo ok', 100 hosts, concurrency 50",
        'h500': "'hostname; echo ok', 500 hosts, concurrency 100",
        'sleep100': "'sleep 1; echo ok', 100 hosts, concurrency 20 (ideal 5 s)"}
work = []
for r in rows:
    if r[0] not in work: work.append(r[0])
med = lambda xs: statistics.median(xs) if xs else None
for w in work:
    n = {'small': 20, 'h100': 100, 'h500': 500, 'sleep100': 100}.get(w) or int(w[1:])
    print('### %s: %s' % (w, desc.get(w, "'hostname; echo ok', %d hosts" % n)))
    print()
    print('| tool | runs | wall (median) | × rollout | client CPU | × rollout | client CPU / host | sshd CPU | sshd CPU / host | peak RSS | all hosts reached | rest of machine CPU |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: |')
    stats = {}
    for tool in all_peers:
        rs = [r for r in rows if r[0] == w and r[1] == tool]
        if not rs:
            stats[tool] = None
            continue
        stats[tool] = dict(runs=len(rs), wall=med([float(r[3]) for r in rs]), cpu=med([float(r[4]) for r in rs]),
                           sshd=med([float(r[5]) for r in rs]), rss=max(int(r[6]) for r in rs),
                           ok=all(r[7] == 'ok' for r in rs),
                           fleet=med([float(r[8]) for r in rs if r[8]]),
                           other=med([float(r[9]) for r in rs]))
    ro = stats.get('rollout')
    for tool in all_peers:
        if tool not in peers:
            continue
        s = stats[tool]
        if s is None:
            print('| %s | n/a (not installed) | | | | | | | | | | |' % tool)
            continue
        rw = '%.2f' % (s['wall'] / ro['wall']) if ro else ''
        rc = '%.1f' % (s['cpu'] / ro['cpu']) if ro and ro['cpu'] > 0 else ''
        print('| %s | %d | %.2f s | %s | %.2f s | %s | %.1f ms | %.2f s | %.1f ms | %.1f MiB | %s | %.2f s |' % (
            tool, s['runs'], s['wall'], rw, s['cpu'], rc, 1000 * s['cpu'] / n, s['sshd'], 1000 * s['sshd'] / n,
            s['rss'] / 1024, 'yes' if s['ok'] else 'NO', s['other']))
    if ro and ro['fleet'] is not None:
        p = {'small': 10, 'h100': 50, 'h500': 100, 'sleep100': 20}.get(w, 100)
        sleep = 1.0 if w.startswith('sleep') else 0.0
        fleet_hosts = n - 1
        ideal = -(-fleet_hosts // p) * sleep
        floor = ro['sshd'] * fleet_hosts / n / cores
        bound = max(ideal, floor)
        print()
        print('rollout fleet phase (%d hosts, from the journal): %.2f s; ideal %.2f s, sshd floor %.2f s (its sshd CPU × %d/%d ÷ %d cores); %.2f× max(ideal, floor)' % (
            fleet_hosts, ro['fleet'], ideal, floor, fleet_hosts, n, cores, ro['fleet'] / bound if bound else float('nan')))
    print()
print('(× rollout: the tool\'s figure divided by rollout\'s; above 1 means rollout is faster / cheaper. client CPU: user+sys of the tool and all it waited for. peak RSS: whole process tree. rest of machine CPU: what other processes used meanwhile, this script\'s RSS sampler included (a few hundredths of a second per second of run); much more means the run was disturbed.)')
EOF
if [ "$fail" != 0 ]; then
  echo "peers: some runs did not reach every host (see above)" >&2
  exit 1
fi
