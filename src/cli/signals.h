/* Ctrl-C and SIGTERM: the first asks the run to stop after the current iteration and
 * write its image; a second ends the process at once, but never while a file is being
 * written. Install before any other thread starts (before the OpenCL context). */
#ifndef CLS_CLI_SIGNALS_H
#define CLS_CLI_SIGNALS_H

#include <stdbool.h>

void cls_signals_install(void);
bool cls_signals_interrupted(void);

/* Around a file write: a second interrupt during it takes effect after it. */
void cls_signals_block(void);
void cls_signals_unblock(void);

#endif
