// What a wake-up costs on this machine: round trips between two processes over two pipes, each
// side asleep in read(2) until the other writes, so every round trip is two wake-ups. Compare the
// figure with the machine's guest halt polling on and off (docs/BENCHMARKS.md, issue 28).
//     gcc -O2 -o /tmp/wakeup-pingpong bench/wakeup-pingpong.c && /tmp/wakeup-pingpong [ROUND_TRIPS]
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int n = argc > 1 ? atoi(argv[1]) : 20000;
    int there[2], back[2];
    if (n <= 0 || pipe(there) || pipe(back)) return 1;
    char byte = 0;
    if (fork() == 0) {
        for (int i = 0; i < n; i++)
            if (read(there[0], &byte, 1) != 1 || write(back[1], &byte, 1) != 1) _exit(1);
        _exit(0);
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < n; i++)
        if (write(there[1], &byte, 1) != 1 || read(back[0], &byte, 1) != 1) return 1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    wait(NULL);
    double us = ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / 1e3 / n;
    printf("%.1f us per round trip (two wake-ups)\n", us);
    return 0;
}
