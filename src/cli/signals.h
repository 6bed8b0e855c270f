/* Ctrl-C and SIGTERM: the first asks the run to stop after the current iteration and
 * write its image; a second ends the process at once. Writing blocks both signals, so a
 * file is never left half-written. */
#ifndef CLS_CLI_SIGNALS_H
#define CLS_CLI_SIGNALS_H

#include <stdbool.h>

void cls_signals_install(void);
bool cls_signals_interrupted(void);

/* Hold signals across a file write; a second interrupt during it takes effect after. */
void cls_signals_block(void);
void cls_signals_unblock(void);

#endif
