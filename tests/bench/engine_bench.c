/* engine_bench.c - questions answered per second in-process, on one core.
 * Reads one question per line (the "question" field of a JSONL file is
 * extracted by the calling script), answers them all in a loop for a fixed
 * time, and prints the rate, with the knowledge load time (best of
 * LOADS loads: the minimum is what the code costs, the rest is the
 * machine's other work).  Not a test: it asserts nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "ask.h"
#include "kb.h"

#define MAXQ 4096
#define LOADS 20

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: engine_bench KNOWLEDGE_DIR QUESTIONS.txt [SECONDS]\n");
		return 2;
	}
	double secs = argc > 3 ? atof(argv[3]) : 3.0;
	char err[512];
	double t0, tload = 1e9;
	struct kb *kb = NULL;
	for (int i = 0; i < LOADS; i++) {
		kb_free(kb);
		t0 = now_s();
		kb = kb_load(argv[1], err, sizeof err);
		if (!kb) {
			fprintf(stderr, "%s\n", err);
			return 1;
		}
		if (now_s() - t0 < tload)
			tload = now_s() - t0;
	}
	FILE *f = fopen(argv[2], "r");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	static char *q[MAXQ];
	int n = 0;
	char line[8192];
	while (n < MAXQ && fgets(line, sizeof line, f)) {
		line[strcspn(line, "\n")] = 0;
		if (*line)
			q[n++] = strdup(line);
	}
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "no questions\n");
		return 1;
	}
	static struct reply r;
	struct date today = { 2026, 11, 26 };
	long done = 0;
	unsigned long sink = 0;
	t0 = now_s();
	double t;
	do {
		for (int i = 0; i < n; i++) {
			ask_question(kb, q[i], strlen(q[i]), today, &r);
			sink += r.len + r.q.intent;
		}
		done += n;
	} while ((t = now_s() - t0) < secs);
	printf("engine: %.0f questions/s on one core (%.2f us each; %d distinct questions, "
	       "%ld answered in %.2f s) [%lu]\n",
	       done / t, t * 1e6 / done, n, done, t, sink % 10);
	printf("engine: knowledge load %.2f ms (best of %d)\n", tload * 1e3, LOADS);
	for (int i = 0; i < n; i++)
		free(q[i]);
	kb_free(kb);
	return 0;
}
