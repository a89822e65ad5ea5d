/* open + read + close of one file, N times; prints microseconds per iteration.
 * Used by scripts/bench to compare a secret read through the mount with the same bytes on tmpfs. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: readloop FILE ITERATIONS\n");
        return 2;
    }
    long iterations = atol(argv[2]);
    char buf[65536];
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (long i = 0; i < iterations; i++) {
        int fd = open(argv[1], O_RDONLY);
        if (fd < 0) { perror("open"); return 1; }
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) {}
        if (n < 0) { perror("read"); return 1; }
        close(fd);
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double us = ((end.tv_sec - start.tv_sec) * 1e9 + (end.tv_nsec - start.tv_nsec)) / 1e3 / iterations;
    printf("%.2f\n", us);
    return 0;
}
