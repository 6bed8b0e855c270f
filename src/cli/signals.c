/* Interrupt handling for the main command. */
#include "cli/signals.h"
#include "cli/cli.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t interrupts;

static void on_signal(int sig)
{
    (void)sig;
    if (++interrupts >= 2) {
        static const char msg[] = "\nclstyle: interrupted again, quitting without writing\n";
        if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
            /* nothing more can be done in a signal handler */
        }
        _exit(CLS_EXIT_INTERRUPTED);
    }
}

void cls_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

bool cls_signals_interrupted(void)
{
    return interrupts > 0;
}

static void set_blocked(int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(how, &set, NULL);
}

void cls_signals_block(void)
{
    set_blocked(SIG_BLOCK);
}

void cls_signals_unblock(void)
{
    set_blocked(SIG_UNBLOCK);
}
