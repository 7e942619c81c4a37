#!/bin/bash
# A two-node RabbitMQ 3.10 cluster with the MQTT plugin on 127.0.0.1, as a test fixture (the
# checked recipe of shared/rabbitmq/README.md, kept here because CI clones only this repo).
#   rmq2.sh BASE start|join|restart N|stop
# Ports per node N (1 or 2) come from the environment so tests can pick free ones:
#   RMQ_AMQP_BASE (5700) + N, RMQ_DIST_BASE (25700) + N, RMQ_MQTT_BASE (18830) + N; epmd: ERL_EPMD_PORT (14369).
# Runs as root; `join` moves the MQTT client-id Raft leader to node 2 so node 1 can be killed
# (kill -9 $(cat BASE/n1/rabbit.pid)) and restarted in seconds instead of ~100 s.
set -euo pipefail
BASE=${1:?BASE dir}; CMD=${2:?}
AMQP=${RMQ_AMQP_BASE:-5700}; DIST=${RMQ_DIST_BASE:-25700}; MQTT=${RMQ_MQTT_BASE:-18830}
RMQ=/usr/lib/rabbitmq/bin      # run directly as root; the /usr/sbin/rabbitmq* wrappers 'su rabbitmq' and cd /var/lib/rabbitmq
export HOME=$BASE                               # server AND CLI read $HOME/.erlang.cookie (0400)
export ERL_EPMD_ADDRESS=127.0.0.1               # epmd (auto-started by first node/CLI) binds 127.0.0.1 (+ ::1)
export ERL_EPMD_PORT=${ERL_EPMD_PORT:-14369}    # private epmd, not the system-wide 4369
export RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"   # CLI's own dist listener (35672..35682)
export RABBITMQ_CONF_ENV_FILE=/dev/null         # ignore /etc/rabbitmq/rabbitmq-env.conf
export RABBITMQ_ENABLED_PLUGINS=rabbitmq_mqtt   # env var honoured by 3.10; no enabled_plugins file / rabbitmq-plugins needed
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"  # node dist port on loopback
ctl() { $RMQ/rabbitmqctl -n "$@"; }
now() { echo $(( $(date +%s%N) / 1000000 )); }
start_node() {
  local i=$1 d=$BASE/n$1; rm -f $d/rabbit.pid
  RABBITMQ_NODENAME=rabbit$i@localhost RABBITMQ_NODE_PORT=$((AMQP+i)) RABBITMQ_DIST_PORT=$((DIST+i)) \
  RABBITMQ_CONFIG_FILE=$d/rabbitmq.conf RABBITMQ_MNESIA_BASE=$d/mnesia RABBITMQ_LOG_BASE=$d/log \
  RABBITMQ_PID_FILE=$d/rabbit.pid setsid $RMQ/rabbitmq-server >>$d/stdout.log 2>&1 </dev/null &
}
wait_node() { ctl rabbit$1@localhost wait $BASE/n$1/rabbit.pid --timeout 180 >/dev/null; }
case $CMD in
start)
  mkdir -p $BASE
  [ -f $BASE/.erlang.cookie ] || { head -c 24 /dev/urandom | base64 | tr -dc A-Za-z0-9 > $BASE/.erlang.cookie; chmod 400 $BASE/.erlang.cookie; }
  for i in 1 2; do mkdir -p $BASE/n$i/log $BASE/n$i/mnesia
    cat > $BASE/n$i/rabbitmq.conf <<CONF
listeners.tcp.default = 127.0.0.1:$((AMQP+i))
mqtt.listeners.tcp.default = 127.0.0.1:$((MQTT+i))
mqtt.allow_anonymous = true
mqtt.default_user = guest
mqtt.default_pass = guest
mqtt.vhost = /
mqtt.exchange = amq.topic
loopback_users = none
log.console = false
log.file.level = info
CONF
  done
  t0=$(now); start_node 1; start_node 2
  for i in 1 2; do wait_node $i; echo "node$i up: $(( $(now)-t0 ))ms pid $(cat $BASE/n$i/rabbit.pid)"; done ;;
join)
  t0=$(now)
  ctl rabbit2@localhost stop_app >/dev/null
  ctl rabbit2@localhost join_cluster rabbit1@localhost >/dev/null
  ctl rabbit2@localhost start_app >/dev/null
  echo "join: $(( $(now)-t0 ))ms"
  # move the MQTT client-id Raft leader to node 2 so that node 1 can be killed AND restarted quickly (gotcha 1)
  ctl rabbit1@localhost eval 'ra:transfer_leadership({mqtt_node,rabbit1@localhost},{mqtt_node,rabbit2@localhost}).' >/dev/null
  ctl rabbit1@localhost cluster_status --formatter json | python3 -c 'import json,sys;print("running:",json.load(sys.stdin)["running_nodes"])' ;;
restart)
  i=${3:?}; t0=$(now); start_node $i; wait_node $i; echo "node$i restarted: $(( $(now)-t0 ))ms pid $(cat $BASE/n$i/rabbit.pid)" ;;
stop)
  for i in 2 1; do ctl rabbit$i@localhost stop >/dev/null 2>&1 || true; done
  # epmd refuses to die while a node (or a CLI) is still registered: ask again until it goes.
  for _ in $(seq 20); do
    out=$(epmd -port $ERL_EPMD_PORT -kill 2>&1) || true
    case $out in *"not allowed"*) sleep 0.5 ;; *) break ;; esac
  done ;;
esac
