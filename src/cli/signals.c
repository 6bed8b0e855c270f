/* Interrupt handling for the main command. SIGINT and SIGTERM are blocked in every thread
 * (OpenCL drivers start their own, which would otherwise receive them at random) and
 * taken by one thread with sigwait, so what happens on a signal never races with a file
 * being written. */
#include "cli/signals.h"
#include "cli/cli.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>

static atomic_int interrupts;
static pthread_mutex_t writing = PTHREAD_MUTEX_INITIALIZER;
static sigset_t handled;

static void *wait_for_signals(void *unused)
{
    (void)unused;
    for (;;) {
        int sig = 0;
        if (sigwait(&handled, &sig) != 0)
            continue;
        if (atomic_fetch_add(&interrupts, 1) == 0)
            continue; /* the first: the run stops after its current iteration */
        /* The second: quit now, but never in the middle of writing a file. */
        pthread_mutex_lock(&writing);
        static const char msg[] = "\nclstyle: interrupted again, quitting without writing\n";
        if (write(STDERR_FILENO, msg, sizeof msg - 1) < 0) {
            /* nothing more to do: we are leaving */
        }
        _exit(CLS_EXIT_INTERRUPTED);
    }
    return NULL;
}

void cls_signals_install(void)
{
    sigemptyset(&handled);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGTERM);
    /* Before any other thread exists, so all of them inherit the mask. */
    pthread_sigmask(SIG_BLOCK, &handled, NULL);
    pthread_t thread;
    if (pthread_create(&thread, NULL, wait_for_signals, NULL) == 0)
        pthread_detach(thread);
}

bool cls_signals_interrupted(void)
{
    return atomic_load(&interrupts) > 0;
}

void cls_signals_block(void)
{
    pthread_mutex_lock(&writing);
}

void cls_signals_unblock(void)
{
    pthread_mutex_unlock(&writing);
}
