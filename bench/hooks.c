// SPDX-License-Identifier: GPL-2.0
/*
 * hooks: load bench/hooks.bpf.c (or a tier's bench/hooks_TIER.bpf.c, in the qemu benchmark),
 * attach its programs, and hold them until SIGINT or SIGTERM.
 * Usage: hooks OBJECT [SECTION-PREFIX...]: only the programs whose section starts with one of the
 * prefixes ("tracepoint/syscalls/", "raw_tracepoint/"), all of them when none is given. Prints
 * "attached N" on stdout once they are attached.
 */
#include <bpf/libbpf.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define MAX_LINKS 32

static volatile sig_atomic_t stop;

static bool wanted(const struct bpf_program *prog, int nprefixes, char **prefixes)
{
	const char *sec = bpf_program__section_name(prog);

	for (int i = 0; i < nprefixes; i++)
		if (!strncmp(sec, prefixes[i], strlen(prefixes[i])))
			return true;
	return nprefixes == 0;
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct bpf_link *links[MAX_LINKS];
	struct bpf_program *prog;
	struct bpf_object *obj;
	int nlinks = 0, status = 1;

	if (argc < 2) {
		fprintf(stderr, "usage: hooks OBJECT [SECTION-PREFIX...]\n");
		return 2;
	}
	libbpf_set_print(NULL);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		fprintf(stderr, "hooks: failed to open %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	bpf_object__for_each_program(prog, obj)
		bpf_program__set_autoload(prog, wanted(prog, argc - 2, argv + 2));
	if (bpf_object__load(obj)) {
		fprintf(stderr, "hooks: failed to load %s: %s\n", argv[1], strerror(errno));
		goto cleanup;
	}
	bpf_object__for_each_program(prog, obj)
	{
		if (!bpf_program__autoload(prog))
			continue;
		if (nlinks == MAX_LINKS || !(links[nlinks] = bpf_program__attach(prog))) {
			fprintf(stderr, "hooks: failed to attach %s: %s\n", bpf_program__name(prog),
				nlinks == MAX_LINKS ? "too many programs" : strerror(errno));
			goto cleanup;
		}
		nlinks++;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("attached %d\n", nlinks);
	fflush(stdout);
	while (!stop)
		pause();
	status = 0;
cleanup:
	while (nlinks)
		bpf_link__destroy(links[--nlinks]);
	bpf_object__close(obj);
	return status;
}
