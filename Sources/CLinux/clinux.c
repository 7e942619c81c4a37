#define _GNU_SOURCE
#include "CLinux.h"
#include <sys/timex.h>

int sg_clock_synchronized(void) {
    struct timex tx = {0};
    int state = adjtimex(&tx);
    if (state == -1) return -1;
    return (state != TIME_ERROR && !(tx.status & STA_UNSYNC)) ? 1 : 0;
}
