#!/bin/bash
# measure.sh BIN PORT: idle RSS after 2 s, then after 50 requests to each route
bin=$1; port=$2
$bin --port $port >/dev/null 2>&1 & pid=$!
sleep 2
idle=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
for i in $(seq 50); do for p in / /metrics /healthz /status; do curl -s -o /dev/null http://127.0.0.1:$port$p; done; done
sleep 1
after=$(awk '/VmRSS/{print $2}' /proc/$pid/status)
threads=$(ls /proc/$pid/task | wc -l)
kill $pid; wait $pid 2>/dev/null
echo "$(basename $bin) idle_kB=$idle after_requests_kB=$after threads=$threads"
