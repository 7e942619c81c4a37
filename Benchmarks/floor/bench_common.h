/* Shared bits of the libmosquitto floor programs: clocks and connecting. */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H
#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline struct mosquitto *bench_connect(const char *id, int port, void *userdata) {
    mosquitto_lib_init();
    struct mosquitto *m = mosquitto_new(id, true, userdata);
    if (!m) { fprintf(stderr, "mosquitto_new failed\n"); exit(2); }
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
    if (mosquitto_connect(m, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "%s: cannot connect to 127.0.0.1:%d\n", id, port);
        exit(2);
    }
    return m;
}
#endif
