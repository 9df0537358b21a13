/* tests/tools/free_port.c — print N free loopback ports (TCP and UDP), for shell tests. */
#include <stdio.h>
#include <stdlib.h>
#include "tests/harness/proc.h"

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1, seen[64], k = 0;
    while (k < n && k < 64) {
        int p = rw_proc_free_port(), dup = 0;
        if (p <= 0)
            return 1;
        for (int i = 0; i < k; i++)
            dup |= seen[i] == p;
        if (!dup)
            printf("%d\n", seen[k++] = p);
    }
    return 0;
}
