// Linux calls that Swift's Glibc module does not import. Kept thin: each wrapper is one call.
#ifndef SENSORGATE_CLINUX_H
#define SENSORGATE_CLINUX_H

/// 1 when the kernel considers the clock synchronized (adjtimex: not TIME_ERROR, no STA_UNSYNC),
/// 0 when it does not, -1 when it cannot tell.
int sg_clock_synchronized(void);

#endif
