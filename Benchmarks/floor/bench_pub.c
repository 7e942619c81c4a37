/* The publisher floor: N QoS 1 messages to TOPIC as fast as libmosquitto and the broker allow,
 * or at RATE messages per second when RATE > 0; waits for every PUBACK. One thread, driving
 * libmosquitto's loop itself (as sensorgate does), with WINDOW messages in flight (default 20).
 * Usage: bench_pub PORT TOPIC N [RATE] [PAYLOAD] [WINDOW]. Prints "published N in S s". */
#include "bench_common.h"
#include <string.h>
#include <unistd.h>

static long acked = 0;
static void on_publish(struct mosquitto *m, void *u, int mid) { (void)m; (void)u; (void)mid; acked++; }

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: bench_pub PORT TOPIC N [RATE] [PAYLOAD] [WINDOW]\n"); return 2; }
    int port = atoi(argv[1]);
    long n = atol(argv[3]);
    double rate = argc > 4 ? atof(argv[4]) : 0;
    const char *payload = argc > 5 && argv[5][0] ? argv[5] : "{\"temperature\":21.5,\"humidity\":48.2,\"battery\":97,\"linkquality\":120}";
    long window = argc > 6 ? atol(argv[6]) : 20;
    struct mosquitto *m = bench_connect("bench-pub", port, NULL);
    mosquitto_publish_callback_set(m, on_publish);
    mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, (int)window);
    for (int i = 0; i < 20; i++) mosquitto_loop(m, 10, 1);  /* CONNACK */
    double start = now_s();
    long sent = 0;
    while (acked < n) {
        while (sent < n && sent - acked < window) {
            if (rate > 0 && now_s() < start + sent / rate) break;
            int rc = mosquitto_publish(m, NULL, argv[2], (int)strlen(payload), payload, 1, false);
            if (rc != MOSQ_ERR_SUCCESS) { fprintf(stderr, "publish: %s\n", mosquitto_strerror(rc)); return 1; }
            sent++;
        }
        int rc = mosquitto_loop(m, rate > 0 ? 1 : 100, 100);
        if (rc != MOSQ_ERR_SUCCESS) { fprintf(stderr, "loop: %s\n", mosquitto_strerror(rc)); return 1; }
    }
    double elapsed = now_s() - start;
    printf("published %ld in %.3f s\n", n, elapsed);
    mosquitto_disconnect(m);
    return 0;
}
