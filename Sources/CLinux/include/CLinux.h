// Linux calls that Swift's Glibc module does not import. Kept thin: each wrapper is one call
// or one struct filled in; everything above them is Swift and tested without hardware.
#ifndef SENSORGATE_CLINUX_H
#define SENSORGATE_CLINUX_H

#include <stdint.h>
#include <stddef.h>

/// 1 when the kernel considers the clock synchronized (adjtimex: not TIME_ERROR, no STA_UNSYNC),
/// 0 when it does not, -1 when it cannot tell.
int sg_clock_synchronized(void);

/// Puts a serial port in raw mode: baud (a standard rate), data bits 5-8, parity 0 none / 1 even /
/// 2 odd, stop bits 1 or 2; no flow control, receiver on, modem lines ignored.
/// Returns 0, or -errno (-EINVAL for a rate with no B constant).
int sg_serial_configure(int fd, int baud, int data_bits, int parity, int stop_bits);

/// openpty(3): a pseudo-terminal pair, for tests and simulations. Returns 0 or -errno.
int sg_openpty(int *controller, int *device, char *name, size_t name_size);

/// eventfd(2), non-blocking and close-on-exec: a counter other threads bump to wake a poll().
/// Returns the fd or -errno.
int sg_eventfd(void);

/// Adds 1 to an eventfd's counter (wakes its pollers). Returns 0 or -errno.
int sg_eventfd_signal(int fd);

/// Catches SIGINT and SIGTERM in whichever thread they arrive: the handler writes the signal's
/// number to a pipe whose non-blocking read end is returned, for a command's poll loop to end on
/// Ctrl-C (the self-pipe trick). Call once per process. Returns the fd or -errno.
int sg_stop_pipe(void);

/// Reads and clears an eventfd's counter. Returns the value read (0 when it was not signalled).
uint64_t sg_eventfd_drain(int fd);

/// Starts a detached thread running `body(arg)` with a stack of `stack_size` bytes and a name
/// (at most 15 characters are kept). Returns 0 or an error number.
int sg_thread_start(const char *name, size_t stack_size, void (*body)(void *), void *arg);
/// Sets the calling thread's nice value (0-19: higher yields the CPU to the others); 0 or -errno.
int sg_thread_set_nice(int nice);

/// Catches SIGINT, SIGTERM and SIGHUP in a handler that only records them, until the gateway's
/// signal service takes them over: a stop asked for during start-up is neither lost (SIG_IGN)
/// nor fatal (SIG_DFL).
void sg_signals_catch_early(void);

/// The signal caught since sg_signals_catch_early (SIGTERM or SIGINT rather than SIGHUP when
/// several came), or 0.
int sg_signals_caught_early(void);

// GPIO character device, uAPI v2 (<linux/gpio.h>).

/// The size of struct gpio_v2_line_event (48), for readers of the line fd.
size_t sg_gpio_event_size(void);

/// Decodes one gpio_v2_line_event record: timestamp (ns), id (1 rising, 2 falling), offset,
/// seqno, line_seqno. Returns 0, or -1 when `size` is too small.
int sg_gpio_decode_event(const void *record, size_t size, uint64_t *timestamp_ns, uint32_t *id,
                         uint32_t *offset, uint32_t *seqno, uint32_t *line_seqno);

/// Fills a gpio_v2_line_event record (tests and recordings). Returns the record size.
size_t sg_gpio_encode_event(void *record, uint64_t timestamp_ns, uint32_t id, uint32_t offset,
                            uint32_t seqno, uint32_t line_seqno);

/// Requests one input line with edge detection (edges: 1 rising, 2 falling, 3 both) and
/// realtime-clock timestamps; bias 0 as-is, 1 pull-up, 2 pull-down, 3 disabled; debounce_us 0 for
/// none. Returns the line fd, or -errno.
int sg_gpio_request_input(int chip_fd, uint32_t offset, int edges, int active_low, int bias,
                          uint32_t debounce_us, const char *consumer);

/// Requests one output line at `value`. Returns the line fd, or -errno.
int sg_gpio_request_output(int chip_fd, uint32_t offset, int active_low, int value, const char *consumer);

/// Sets an output line's logical value. Returns 0 or -errno.
int sg_gpio_set_value(int line_fd, int value);

/// Reads a requested line's current value (1 or 0), or -errno. A contact reports its state at start.
int sg_gpio_get_value(int line_fd);

#endif
