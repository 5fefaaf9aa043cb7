#!/usr/bin/env bash
# Reaper for the stack launcher: reads "pgid N" / "unpgid N" / "dir PATH" / "undir PATH" lines on stdin.
# When stdin closes (the owning process exited, even by SIGKILL) it kills every registered process group
# and removes every registered directory, so no run leaves processes or temp dirs behind.
set -u
trap '' INT TERM HUP
declare -A groups=() dirs=()
while IFS=' ' read -r kind value; do
  case "$kind" in
    pgid) groups[$value]=1 ;;
    unpgid) unset "groups[$value]" ;;
    dir) dirs[$value]=1 ;;
    undir) unset "dirs[$value]" ;;
  esac
done
for g in "${!groups[@]}"; do kill -CONT -- "-$g" 2>/dev/null; kill -TERM -- "-$g" 2>/dev/null; done
for _ in $(seq 1 50); do
  alive=0
  for g in "${!groups[@]}"; do kill -0 -- "-$g" 2>/dev/null && alive=1; done
  [ "$alive" = 0 ] && break
  sleep 0.1
done
for g in "${!groups[@]}"; do kill -KILL -- "-$g" 2>/dev/null; done
for d in "${!dirs[@]}"; do rm -rf -- "$d"; done
