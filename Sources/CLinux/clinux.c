#define _GNU_SOURCE
#include "CLinux.h"
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/timex.h>
#include <termios.h>
#include <pty.h>
#include <linux/gpio.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>

int sg_clock_synchronized(void) {
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    int state = adjtimex(&tx);
    if (state < 0) return -1;
    return (state == TIME_ERROR || (tx.status & STA_UNSYNC)) ? 0 : 1;
}

static speed_t speed_for(int baud) {
    switch (baud) {
    case 50: return B50; case 75: return B75; case 110: return B110; case 134: return B134;
    case 150: return B150; case 200: return B200; case 300: return B300; case 600: return B600;
    case 1200: return B1200; case 1800: return B1800; case 2400: return B2400; case 4800: return B4800;
    case 9600: return B9600; case 19200: return B19200; case 38400: return B38400; case 57600: return B57600;
    case 115200: return B115200; case 230400: return B230400; case 460800: return B460800;
    case 500000: return B500000; case 576000: return B576000; case 921600: return B921600;
    case 1000000: return B1000000; case 1152000: return B1152000; case 1500000: return B1500000;
    case 2000000: return B2000000; case 2500000: return B2500000; case 3000000: return B3000000;
    case 3500000: return B3500000; case 4000000: return B4000000;
    default: return 0;
    }
}

int sg_serial_configure(int fd, int baud, int data_bits, int parity, int stop_bits) {
    speed_t speed = speed_for(baud);
    if (speed == 0) return -EINVAL;
    struct termios t;
    if (tcgetattr(fd, &t) != 0) return -errno;
    cfmakeraw(&t);
    t.c_cflag &= ~(CSIZE | PARENB | PARODD | CSTOPB | CRTSCTS);
    t.c_cflag |= CLOCAL | CREAD;
    switch (data_bits) {
    case 5: t.c_cflag |= CS5; break;
    case 6: t.c_cflag |= CS6; break;
    case 7: t.c_cflag |= CS7; break;
    default: t.c_cflag |= CS8; break;
    }
    if (parity == 1) t.c_cflag |= PARENB;
    if (parity == 2) t.c_cflag |= PARENB | PARODD;
    if (stop_bits == 2) t.c_cflag |= CSTOPB;
    t.c_iflag &= ~(IXON | IXOFF | IXANY);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (cfsetispeed(&t, speed) != 0 || cfsetospeed(&t, speed) != 0) return -errno;
    if (tcsetattr(fd, TCSANOW, &t) != 0) return -errno;
    return 0;
}

int sg_openpty(int *controller, int *device, char *name, size_t name_size) {
    char path[128];
    if (openpty(controller, device, path, NULL, NULL) != 0) return -errno;
    strncpy(name, path, name_size);
    if (name_size > 0) name[name_size - 1] = 0;
    return 0;
}

size_t sg_gpio_event_size(void) { return sizeof(struct gpio_v2_line_event); }

int sg_gpio_decode_event(const void *record, size_t size, uint64_t *timestamp_ns, uint32_t *id,
                         uint32_t *offset, uint32_t *seqno, uint32_t *line_seqno) {
    if (size < sizeof(struct gpio_v2_line_event)) return -1;
    struct gpio_v2_line_event e;
    memcpy(&e, record, sizeof e);
    *timestamp_ns = e.timestamp_ns;
    *id = e.id;
    *offset = e.offset;
    *seqno = e.seqno;
    *line_seqno = e.line_seqno;
    return 0;
}

size_t sg_gpio_encode_event(void *record, uint64_t timestamp_ns, uint32_t id, uint32_t offset,
                            uint32_t seqno, uint32_t line_seqno) {
    struct gpio_v2_line_event e;
    memset(&e, 0, sizeof e);
    e.timestamp_ns = timestamp_ns;
    e.id = id;
    e.offset = offset;
    e.seqno = seqno;
    e.line_seqno = line_seqno;
    memcpy(record, &e, sizeof e);
    return sizeof e;
}

static void set_consumer(struct gpio_v2_line_request *req, const char *consumer) {
    strncpy(req->consumer, consumer ? consumer : "sensorgate", GPIO_MAX_NAME_SIZE - 1);
}

int sg_gpio_request_input(int chip_fd, uint32_t offset, int edges, int active_low, int bias,
                          uint32_t debounce_us, const char *consumer) {
    struct gpio_v2_line_request req;
    memset(&req, 0, sizeof req);
    req.offsets[0] = offset;
    req.num_lines = 1;
    set_consumer(&req, consumer);
    uint64_t flags = GPIO_V2_LINE_FLAG_INPUT | GPIO_V2_LINE_FLAG_EVENT_CLOCK_REALTIME;
    if (edges & 1) flags |= GPIO_V2_LINE_FLAG_EDGE_RISING;
    if (edges & 2) flags |= GPIO_V2_LINE_FLAG_EDGE_FALLING;
    if (active_low) flags |= GPIO_V2_LINE_FLAG_ACTIVE_LOW;
    if (bias == 1) flags |= GPIO_V2_LINE_FLAG_BIAS_PULL_UP;
    if (bias == 2) flags |= GPIO_V2_LINE_FLAG_BIAS_PULL_DOWN;
    if (bias == 3) flags |= GPIO_V2_LINE_FLAG_BIAS_DISABLED;
    req.config.flags = flags;
    if (debounce_us > 0) {
        req.config.num_attrs = 1;
        req.config.attrs[0].mask = 1;  // the line at index 0
        req.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_DEBOUNCE;
        req.config.attrs[0].attr.debounce_period_us = debounce_us;
    }
    req.event_buffer_size = 64;
    if (ioctl(chip_fd, GPIO_V2_GET_LINE_IOCTL, &req) != 0) return -errno;
    return req.fd;
}

int sg_gpio_request_output(int chip_fd, uint32_t offset, int active_low, int value, const char *consumer) {
    struct gpio_v2_line_request req;
    memset(&req, 0, sizeof req);
    req.offsets[0] = offset;
    req.num_lines = 1;
    set_consumer(&req, consumer);
    req.config.flags = GPIO_V2_LINE_FLAG_OUTPUT | (active_low ? GPIO_V2_LINE_FLAG_ACTIVE_LOW : 0);
    req.config.num_attrs = 1;
    req.config.attrs[0].mask = 1;
    req.config.attrs[0].attr.id = GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES;
    req.config.attrs[0].attr.values = value ? 1 : 0;
    if (ioctl(chip_fd, GPIO_V2_GET_LINE_IOCTL, &req) != 0) return -errno;
    return req.fd;
}

int sg_gpio_set_value(int line_fd, int value) {
    struct gpio_v2_line_values v;
    memset(&v, 0, sizeof v);
    v.mask = 1;
    v.bits = value ? 1 : 0;
    if (ioctl(line_fd, GPIO_V2_LINE_SET_VALUES_IOCTL, &v) != 0) return -errno;
    return 0;
}

int sg_gpio_get_value(int line_fd) {
    struct gpio_v2_line_values v;
    memset(&v, 0, sizeof v);
    v.mask = 1;
    if (ioctl(line_fd, GPIO_V2_LINE_GET_VALUES_IOCTL, &v) != 0) return -errno;
    return (int)(v.bits & 1);
}

int sg_eventfd(void) {
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

int sg_eventfd_signal(int fd) {
    uint64_t one = 1;
    return write(fd, &one, sizeof one) == sizeof one || errno == EAGAIN ? 0 : -errno;
}

static int sg_stop_write_fd = -1;

static void sg_stop_handler(int signo) {
    int saved = errno;
    unsigned char byte = (unsigned char)signo;
    (void)!write(sg_stop_write_fd, &byte, 1);
    errno = saved;
}

int sg_stop_pipe(void) {
    int fds[2];
    if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return -errno;
    sg_stop_write_fd = fds[1];
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = sg_stop_handler;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &action, NULL) != 0 || sigaction(SIGTERM, &action, NULL) != 0) return -errno;
    return fds[0];
}

uint64_t sg_eventfd_drain(int fd) {
    uint64_t value = 0;
    return read(fd, &value, sizeof value) == sizeof value ? value : 0;
}

struct sg_thread_start_args {
    void (*body)(void *);
    void *arg;
    char name[16];
};

static void *sg_thread_main(void *p) {
    struct sg_thread_start_args args = *(struct sg_thread_start_args *)p;
    free(p);
    pthread_setname_np(pthread_self(), args.name);
    args.body(args.arg);
    return NULL;
}

int sg_thread_start(const char *name, size_t stack_size, void (*body)(void *), void *arg) {
    struct sg_thread_start_args *args = malloc(sizeof *args);
    if (!args) return ENOMEM;
    args->body = body;
    args->arg = arg;
    strncpy(args->name, name, sizeof args->name - 1);
    args->name[sizeof args->name - 1] = 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (stack_size > 0) pthread_attr_setstacksize(&attr, stack_size);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, sg_thread_main, args);
    pthread_attr_destroy(&attr);
    if (rc != 0) free(args);
    return rc;
}

static volatile sig_atomic_t sg_early_signal = 0;

static void sg_record_signal(int number) {
    if (number != SIGHUP || sg_early_signal == 0) sg_early_signal = number;
}

void sg_signals_catch_early(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = sg_record_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGHUP, &action, NULL);
}

int sg_signals_caught_early(void) { return sg_early_signal; }

int sg_thread_set_nice(int nice) {
    /* On Linux, PRIO_PROCESS with a thread id changes that thread only. */
    pid_t tid = (pid_t)syscall(SYS_gettid);
    return setpriority(PRIO_PROCESS, (id_t)tid, nice) == 0 ? 0 : -errno;
}
