/* The relay floor: subscribe to IN at QoS 1, republish every message to OUT at QoS 1, nothing
 * else, until N were relayed. Usage: bench_relay PORT IN OUT N. */
#include "bench_common.h"
#include <string.h>
#include <unistd.h>

static long relayed = 0;
static const char *out_topic;

static void on_message(struct mosquitto *m, void *u, const struct mosquitto_message *msg) {
    (void)u;
    mosquitto_publish(m, NULL, out_topic, msg->payloadlen, msg->payload, 1, false);
    relayed++;
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: bench_relay PORT IN OUT N\n"); return 2; }
    int port = atoi(argv[1]);
    long n = atol(argv[4]);
    out_topic = argv[3];
    struct mosquitto *m = bench_connect("bench-relay", port, NULL);
    mosquitto_message_callback_set(m, on_message);
    mosquitto_subscribe(m, NULL, argv[2], 1);
    fprintf(stderr, "subscribed\n");
    while (relayed < n) mosquitto_loop(m, 100, 100);
    for (int i = 0; i < 50; i++) mosquitto_loop(m, 10, 100);
    mosquitto_disconnect(m);
    return 0;
}
