/* OpenSSL's shared libraries loaded at the first call of one of their functions,
 * not by the dynamic loader at every start (x86-64 Linux builds; see build.rs and
 * docs/benchmarks.md#start-up).
 *
 * build.rs generates, for every OpenSSL function that pctl's dependencies call
 * (openssl-functions.txt), a stub of that name that jumps through a slot. A slot
 * first holds a small routine that saves the caller's argument registers and calls
 * pctl_openssl_resolve below with the function's index; that opens libssl (and with
 * it libcrypto) once, looks the function up, stores its address in the slot and
 * returns it, and the routine jumps there with the registers restored. Later calls
 * jump straight to OpenSSL. The stubs are linked ahead of `-lssl -lcrypto`, so with
 * `--as-needed` (rustc's default) the binary no longer lists those libraries. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef PCTL_LIBSSL
#error "build.rs defines PCTL_LIBSSL, the soname of the libssl that was linked"
#endif

/* Both are defined by the generated assembly. */
extern const char *const pctl_openssl_names[];
extern void *pctl_openssl_slots[];

static void *library;
static char failure[512];
static pthread_once_t opened = PTHREAD_ONCE_INIT;

static void open_library(void) {
    const char *name = PCTL_LIBSSL;
#ifdef PCTL_FAULT_INJECTION
    /* The test hook of the fault-injection builds (docs/testing.md): a libssl that
     * cannot be found, to show the error a user would see. */
    const char *fault = getenv("PCTL_FAULT");
    if (fault != NULL && strcmp(fault, "openssl-missing") == 0) {
        name = "libssl-pctl-fault-injected.so";
    }
#endif
    library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (library == NULL) {
        const char *why = dlerror();
        snprintf(failure, sizeof failure, "%s", why != NULL ? why : name);
    }
}

static void fail(const char *what) {
    fprintf(stderr,
            "error: pctl needs the system's OpenSSL library (%s) for this connection, "
            "and it could not be loaded\n"
            "  %s\n"
            "hint: install the OpenSSL runtime library pctl was built against "
            "(Debian and Ubuntu: libssl3), or build pctl with "
            "`cargo install --path . --features static-openssl`\n",
            PCTL_LIBSSL, what);
    exit(1);
}

__attribute__((visibility("hidden"))) void *pctl_openssl_resolve(unsigned long index) {
    pthread_once(&opened, open_library);
    if (library == NULL) {
        fail(failure);
    }
    const char *name = pctl_openssl_names[index];
    void *function = dlsym(library, name);
    if (function == NULL) {
        char why[600];
        snprintf(why, sizeof why, "%s has no function %s", PCTL_LIBSSL, name);
        fail(why);
    }
    __atomic_store_n(&pctl_openssl_slots[index], function, __ATOMIC_RELEASE);
    return function;
}
