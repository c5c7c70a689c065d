/*
 * stalls: how long each CPU of this machine is taken away from an ordinary thread, with nothing of ours running.
 * One thread per CPU, pinned, sleeps to absolute deadlines <period_us> apart (timer slack 1 ns) and records every
 * wake-up later than <threshold_us>: what a data-plane thread on that CPU would have waited for, whatever held the
 * CPU (a kernel thread that does not reschedule, an interrupt storm, the hypervisor). Prints each stall as
 * "cpu <n> at <s> late <us>" and a summary per CPU. Compare a bench's tail with it: a proxy queues what arrives
 * during a stall, delivery inside the sender's own call (native multicast) turns it into sender lateness instead.
 * Build: gcc -O2 -pthread -o stalls native/tools/stalls.c
 * Run:   stalls [seconds=5] [period_us=50] [threshold_us=300]
 * While it runs, `perf record -e sched:sched_switch -C <cpu> -- sleep 3` names what ran in the stalls.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#define MAX_CPUS 256
#define MAX_STALLS 4096

struct stall {
	double at_s;
	long late_us;
};

struct probe {
	int cpu;
	int error;
	long count;
	long worst_us;
	double total_ms;
	int kept;
	struct stall stalls[MAX_STALLS];
};

static long seconds = 5, period_us = 50, threshold_us = 300;
static long long start_ns;

static long long now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static int pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void record(struct probe *p, long long due, long long late)
{
	p->count++;
	p->total_ms += late / 1e6;
	if (late / 1000 > p->worst_us)
		p->worst_us = late / 1000;
	if (p->kept < MAX_STALLS)
		p->stalls[p->kept++] = (struct stall){ (due - start_ns) / 1e9, late / 1000 };
}

static void *run(void *arg)
{
	struct probe *p = arg;
	if ((p->error = pin(p->cpu)) != 0)
		return NULL;
	prctl(PR_SET_TIMERSLACK, 1);
	long long due = start_ns, end = start_ns + seconds * 1000000000LL;
	while (due < end) {
		due += period_us * 1000LL;
		struct timespec t = { due / 1000000000LL, due % 1000000000LL };
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		long long late = now_ns() - due;
		if (late > threshold_us * 1000LL) {
			record(p, due, late);
			due = now_ns(); /* one stall is one record, not one per missed deadline */
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc > 1) seconds = atol(argv[1]);
	if (argc > 2) period_us = atol(argv[2]);
	if (argc > 3) threshold_us = atol(argv[3]);
	if (seconds <= 0 || period_us <= 0 || threshold_us <= 0) {
		fprintf(stderr, "usage: stalls [seconds=5] [period_us=50] [threshold_us=300] (all positive)\n");
		return 2;
	}
	int cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus < 1 || cpus > MAX_CPUS) {
		fprintf(stderr, "stalls: cannot use %d CPUs (1..%d)\n", cpus, MAX_CPUS);
		return 1;
	}
	static struct probe probes[MAX_CPUS];
	pthread_t threads[MAX_CPUS];
	start_ns = now_ns() + 100000000LL; /* every thread starts on the same deadline grid */
	for (int i = 0; i < cpus; i++) {
		probes[i].cpu = i;
		if (pthread_create(&threads[i], NULL, run, &probes[i]) != 0) {
			fprintf(stderr, "stalls: cannot start the thread for CPU %d\n", i);
			return 1;
		}
	}
	for (int i = 0; i < cpus; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < cpus; i++)
		for (int k = 0; k < probes[i].kept; k++)
			printf("cpu %d at %.4f late %ld\n", i, probes[i].stalls[k].at_s, probes[i].stalls[k].late_us);
	for (int i = 0; i < cpus; i++) {
		struct probe *p = &probes[i];
		if (p->error)
			printf("cpu %d: cannot pin a thread to it (error %d)\n", i, p->error);
		else
			printf("cpu %d: %ld stalls > %ld us in %ld s, %.1f ms in all (%.2f %%), worst %ld us\n", i, p->count,
			       threshold_us, seconds, p->total_ms, p->total_ms / (seconds * 10.0), p->worst_us);
	}
	return 0;
}
