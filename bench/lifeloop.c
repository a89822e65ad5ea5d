/* One reader of the lifetime benchmark (bench.py, section 7): open + read to EOF + close of one
 * file in a loop until the first byte of FLAGFILE (a shared mapping the bench sets) turns
 * non-zero. Every iteration is timed; errors are counted by errno, never retried or hidden.
 * The first successful read is the reference: later reads that return other bytes count as
 * wrong (the bytes themselves are never printed). Prints one JSON object on stdout at the end.
 * Times are CLOCK_MONOTONIC seconds, the clock of Python's time.monotonic() on Linux. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_ERRORS 64
#define MAX_SLOW 256
#define SLOW_NS 20000000LL /* iterations of 20 ms or more are listed one by one */
#define BUCKETS 40         /* histogram of iteration times by powers of two of nanoseconds */

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

struct event { long long at, ns; int err; const char *op; };

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: lifeloop FILE FLAGFILE\n");
        return 2;
    }
    int flag_fd = open(argv[2], O_RDONLY);
    if (flag_fd < 0) { perror("flag"); return 2; }
    volatile unsigned char *stop = mmap(NULL, 1, PROT_READ, MAP_SHARED, flag_fd, 0);
    if (stop == MAP_FAILED) { perror("mmap"); return 2; }

    static char reference[65536], buf[65536];
    ssize_t reference_len = -1;
    long long reads = 0, wrong = 0, error_count = 0, slow_count = 0, max_ns = 0, max_at = 0;
    long long histogram[BUCKETS] = {0};
    struct event errors[MAX_ERRORS], slow[MAX_SLOW];
    int n_errors = 0, n_slow = 0;
    long long began = now_ns();

    while (!*stop) {
        long long t0 = now_ns();
        const char *op = NULL;
        int err = 0;
        ssize_t total = 0;
        int fd = open(argv[1], O_RDONLY);
        if (fd < 0) {
            op = "open"; err = errno;
        } else {
            ssize_t n;
            while ((n = read(fd, buf + total, sizeof buf - total)) > 0) {
                total += n;
                if (total == (ssize_t)sizeof buf) break;
            }
            if (n < 0) { op = "read"; err = errno; }
            if (close(fd) != 0 && op == NULL) { op = "close"; err = errno; }
        }
        long long t1 = now_ns(), ns = t1 - t0;
        if (op == NULL) {
            if (reference_len < 0) {
                memcpy(reference, buf, total);
                reference_len = total;
            } else if (total != reference_len || memcmp(reference, buf, total) != 0) {
                wrong++;
            }
            reads++;
        } else {
            error_count++;
            if (n_errors < MAX_ERRORS) errors[n_errors++] = (struct event){t0, ns, err, op};
        }
        if (ns > max_ns) { max_ns = ns; max_at = t0; }
        int bucket = 0;
        while (bucket < BUCKETS - 1 && (1LL << (bucket + 1)) <= ns) bucket++;
        histogram[bucket]++;
        if (ns >= SLOW_NS) {
            slow_count++;
            if (n_slow < MAX_SLOW) slow[n_slow++] = (struct event){t0, ns, err, op};
        }
    }
    long long ended = now_ns();

    printf("{\"began\": %.6f, \"ended\": %.6f, \"reads\": %lld, \"wrong\": %lld, \"errors\": %lld, "
           "\"max_ns\": %lld, \"max_at\": %.6f, \"slow_count\": %lld, \"histogram\": [",
           began / 1e9, ended / 1e9, reads, wrong, error_count, max_ns, max_at / 1e9, slow_count);
    for (int i = 0; i < BUCKETS; i++) printf("%s%lld", i ? ", " : "", histogram[i]);
    printf("], \"error_list\": [");
    for (int i = 0; i < n_errors; i++)
        printf("%s{\"at\": %.6f, \"ns\": %lld, \"op\": \"%s\", \"errno\": %d, \"name\": \"%s\"}", i ? ", " : "",
               errors[i].at / 1e9, errors[i].ns, errors[i].op, errors[i].err, strerror(errors[i].err));
    printf("], \"slow\": [");
    for (int i = 0; i < n_slow; i++)
        printf("%s[%.6f, %lld, %d]", i ? ", " : "", slow[i].at / 1e9, slow[i].ns, slow[i].err);
    printf("]}\n");
    return 0;
}
