#!/bin/sh
# A distarch worker in plain POSIX sh. The master writes one JSON line (the
# worker context) to stdin, and sets DISTARCH_ID, DISTARCH_GROUP_ID and
# DISTARCH_GROUP_COUNT. Plain output lines are `info` logs; lines starting
# with "@distarch/1 " are protocol messages (levels, ping, ended).

if [ -z "$DISTARCH_PROTOCOL" ] || ! read -r ctx; then
  echo "distarch: this is a distarch worker; start it with a distarch master, not by hand" >&2
  exit 2
fi

stop=0
trap 'stop=1' TERM INT

echo "My ID : $DISTARCH_ID"
echo "My Group ID : $DISTARCH_GROUP_ID of $DISTARCH_GROUP_COUNT"
echo "Context line: ${#ctx} characters"
echo "@distarch/1 warning this worker is written in sh"

i=0
while [ "$stop" -eq 0 ] && [ "$i" -lt "${ITERATIONS:-5}" ]; do
  echo "@distarch/1 ping"
  # sleep in the background and wait, so a TERM interrupts the wait at once
  sleep 1 &
  wait $! 2>/dev/null
  i=$((i + 1))
done
echo "@distarch/1 notice done after $i steps"
echo "@distarch/1 ended"
exit 0
