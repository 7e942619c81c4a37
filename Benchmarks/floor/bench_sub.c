/* The counting subscriber: QoS 1 on FILTER until N messages arrived (or TIMEOUT s of silence).
 * Usage: bench_sub PORT FILTER N TIMEOUT [TIMES_FILE]. Prints "received N first F last L"
 * (CLOCK_REALTIME seconds) and "seq_in_order 1|0" for CloudEvents payloads; with TIMES_FILE,
 * writes "arrival_ns topic_kind [seq]" per message (0 = an input topic, 1 = an output event with
 * its seq). */
#include "bench_common.h"
#include <string.h>
#include <unistd.h>

static volatile long received = 0;
static long target = 0;
static double first = 0, last = 0;
static long long last_seq = -1;
static int in_order = 1;
static FILE *times = NULL;

static void on_message(struct mosquitto *m, void *u, const struct mosquitto_message *msg) {
    (void)m; (void)u;
    double t = now_s();
    /* Nor are the retained state topics ({prefix}/{gateway}/state/...: a bare value, at most one a
       second per channel): counted as inputs, they shifted every later input/output pair. */
    if (msg->topic && strstr(msg->topic, "/state/")) return;
    /* The gateway's retained status is not a message under test. */
    if (msg->payloadlen > 0 && msg->payloadlen <= 7 && msg->payload &&
        (memcmp(msg->payload, "online", msg->payloadlen) == 0 || memcmp(msg->payload, "offline", msg->payloadlen) == 0)) return;
    if (received == 0) first = t;
    last = t;
    received++;
    const char *p = msg->payloadlen > 0 ? (const char *)msg->payload : "";

    const char *s = msg->payloadlen > 0 ? strstr(p, "\"seq\":") : NULL;
    long long seq = 0;
    if (s) {
        seq = atoll(s + 6);
        if (seq <= last_seq) in_order = 0;
        last_seq = seq;
    }
    if (times) {
        if (s) fprintf(times, "%.0f 1 %lld\n", t * 1e9, seq);
        else fprintf(times, "%.0f 0\n", t * 1e9);
    }
}

static void on_connect(struct mosquitto *m, void *u, int rc) {
    (void)u; (void)rc;
    mosquitto_subscribe(m, NULL, (const char *)mosquitto_userdata(m), 1);
}

int main(int argc, char **argv) {
    if (argc < 5) { fprintf(stderr, "usage: bench_sub PORT FILTER N TIMEOUT [TIMES_FILE]\n"); return 2; }
    int port = atoi(argv[1]);
    target = atol(argv[3]);
    double timeout = atof(argv[4]);
    if (argc > 5) times = fopen(argv[5], "w");
    struct mosquitto *m = bench_connect("bench-sub", port, argv[2]);
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_message_callback_set(m, on_message);
    mosquitto_subscribe(m, NULL, argv[2], 1);
    mosquitto_loop_start(m);
    usleep(200000);
    fprintf(stderr, "subscribed\n");
    double quiet_since = now_s();
    long seen = 0;
    while (received < target) {
        usleep(2000);
        if (received != seen) { seen = received; quiet_since = now_s(); }
        if (now_s() - quiet_since > timeout) break;
    }
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    printf("received %ld first %.6f last %.6f seq_in_order %d\n", received, first, last, in_order);
    if (times) fclose(times);
    fflush(stdout);
    return 0;
}
