#!/usr/bin/env bash
# ssh-fanout: one trivial command on N host aliases (host-001.., all
# 127.0.0.1) at parallelism P, timed two ways against one private sshd:
#   (a) engine/sshx: dial + run + close per host, host keys verified
#       (engine/sshx/internal/fanout, built before timing);
#   (b) OpenSSH's client: xargs -P P ssh -F cfg HOST CMD, host keys verified
#       (StrictHostKeyChecking yes), one ssh process per host;
#   (c) the same with -o KexAlgorithms=curve25519-sha256, the key exchange
#       x/crypto settles on with an sshd older than 9.9 (OpenSSH's default,
#       sntrup761x25519, costs its client far more CPU): the like-for-like
#       figure.
# Both read the same known_hosts, which holds [host-NNN]:PORT for every alias
# and [127.0.0.1]:PORT (what OpenSSH checks for a HostName).
#
#   bench/ssh-fanout.sh                      # N=200 P=50 CMD=true ROUNDS=3
#   N=500 P=100 CMD='echo ok' bench/ssh-fanout.sh
#
# Needs sshd, ssh, ssh-keygen and go. Runs as any user (as root it uses
# /run/sshd). Touches nothing outside a temporary directory, which it removes.
# The sshd allows MaxStartups 400:30:800 so that neither client is throttled
# by the server's own default of 10 unauthenticated connections, and sets
# SHLVL=1 so that the login shell (Debian's bash reads ~/.bashrc for sshd's
# commands) skips the user's rc files: what is timed is the clients, not a
# .bashrc that may run pyenv or the like for every command.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-200}
P=${P:-50}
CMD=${CMD:-true}
ROUNDS=${ROUNDS:-3}
SSHD=${SSHD:-/usr/sbin/sshd}

tmp=$(mktemp -d)
sshd_pid=
cleanup() {
  if [ -n "$sshd_pid" ]; then kill "$sshd_pid" 2>/dev/null || true; wait "$sshd_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

user=$(id -un)
ssh-keygen -q -t ed25519 -N '' -f "$tmp/host_ed25519"
ssh-keygen -q -t ed25519 -N '' -f "$tmp/id_ed25519"
cp "$tmp/id_ed25519.pub" "$tmp/authorized_keys"

port=
for p in $(shuf -i 20000-60000 -n 50); do
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || { echo "ssh-fanout: no free port found" >&2; exit 1; }

cat >"$tmp/sshd_config" <<EOF
ListenAddress 127.0.0.1
Port $port
HostKey $tmp/host_ed25519
AuthorizedKeysFile $tmp/authorized_keys
PidFile $tmp/sshd.pid
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
MaxStartups 400:30:800
SetEnv SHLVL=1
LogLevel ERROR
EOF
[ "$(id -u)" = 0 ] && mkdir -p /run/sshd
"$SSHD" -D -e -f "$tmp/sshd_config" 2>"$tmp/sshd.log" &
sshd_pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done

key=$(cut -d' ' -f1,2 "$tmp/host_ed25519.pub")
{
  echo "[127.0.0.1]:$port $key"
  for i in $(seq 1 "$N"); do printf '[host-%03d]:%s %s\n' "$i" "$port" "$key"; done
} >"$tmp/known_hosts"
{
  for i in $(seq 1 "$N"); do
    printf 'Host host-%03d\n  HostName 127.0.0.1\n' "$i"
  done
  cat <<EOF
Host *
  Port $port
  User $user
  IdentityFile $tmp/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $tmp/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
  ControlMaster no
  ControlPath none
  LogLevel ERROR
EOF
} >"$tmp/ssh_config"
printf 'host-%03d\n' $(seq 1 "$N") >"$tmp/hosts"

go build -o "$tmp/fanout" ./engine/sshx/internal/fanout

run_sshx() {
  "$tmp/fanout" -port "$port" -user "$user" -identity "$tmp/id_ed25519" \
    -known-hosts "$tmp/known_hosts" -n "$N" -parallel "$P" -cmd "$CMD" >/dev/null
}
run_openssh() {
  xargs -P "$P" -I{} ssh -F "$tmp/ssh_config" "$@" {} "$CMD" <"$tmp/hosts" >/dev/null
}
now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

# Warm up both (page cache, sshd's first forks); fail loudly if either cannot connect.
ssh -F "$tmp/ssh_config" host-001 "$CMD" >/dev/null
"$tmp/fanout" -port "$port" -user "$user" -identity "$tmp/id_ed25519" \
  -known-hosts "$tmp/known_hosts" -n 5 -parallel 5 -cmd "$CMD" >/dev/null

echo "ssh-fanout: $N aliases of 127.0.0.1:$port, parallel $P, command '$CMD', $(nproc) cores, $(ssh -V 2>&1)"
ratio() { echo "$2 / $1" | bc -l; }
a_all=() b_all=() c_all=()
for r in $(seq 1 "$ROUNDS"); do
  t0=$(now); run_sshx; t1=$(now)
  run_openssh; t2=$(now)
  run_openssh -o KexAlgorithms=curve25519-sha256; t3=$(now)
  a=$(elapsed "$t0" "$t1"); b=$(elapsed "$t1" "$t2"); c=$(elapsed "$t2" "$t3")
  a_all+=("$a"); b_all+=("$b"); c_all+=("$c")
  printf 'round %d: (a) sshx %6.3fs  (b) openssh %6.3fs = %5.2fx  (c) openssh curve25519 %6.3fs = %5.2fx\n' \
    "$r" "$a" "$b" "$(ratio "$a" "$b")" "$c" "$(ratio "$a" "$c")"
done
median() { printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
a=$(median "${a_all[@]}"); b=$(median "${b_all[@]}"); c=$(median "${c_all[@]}")
printf 'median:  (a) sshx %6.3fs  (b) openssh %6.3fs = %5.2fx  (c) openssh curve25519 %6.3fs = %5.2fx\n' \
  "$a" "$b" "$(ratio "$a" "$b")" "$c" "$(ratio "$a" "$c")"
echo "(ratios are openssh time / sshx time: above 1 means sshx is faster)"
