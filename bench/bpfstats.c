// SPDX-License-Identifier: GPL-2.0
/*
 * bpfstats: the run-time statistics of BPF programs, for the benchmark's qemu VM (bench/vm.sh),
 * which has no bpftool. Usage: bpfstats [PID | PINNED-PATH]...
 *   PID          the programs the process holds (prog and link fds: prog_id in its fdinfo)
 *   PINNED-PATH  a pinned program, or the program of a pinned link (reusetop steer's pins)
 * Prints one JSON array on one line: {id, type, name, object, hook, run_time_ns, run_cnt} per
 * program, as bench/run.sh's prog_stats does with bpftool. object is the object the program
 * came from (the name libbpf gives its .rodata, .data or .bss map, less the suffix); hook the
 * kernel function a tracing program is attached to (its attach BTF id), null for the others.
 */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <ctype.h>
#include <stdbool.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PROGS 256

static __u32 ids[MAX_PROGS];
static int nids;

static void add_id(__u32 id)
{
	for (int i = 0; i < nids; i++)
		if (ids[i] == id)
			return;
	if (nids < MAX_PROGS)
		ids[nids++] = id;
}

/* The prog_id lines of every fdinfo of PID. */
static int ids_of_pid(const char *pid)
{
	char path[320], line[128];
	struct dirent *de;
	unsigned int id;
	DIR *dir;

	snprintf(path, sizeof(path), "/proc/%s/fdinfo", pid);
	dir = opendir(path);
	if (!dir)
		return -errno;
	while ((de = readdir(dir))) {
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/fdinfo/%s", pid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "prog_id: %u", &id) == 1)
				add_id(id);
		fclose(f);
	}
	closedir(dir);
	return 0;
}

/* A pinned program or link: its program's id (the fd's kind from its /proc link). */
static int id_of_pin(const char *path)
{
	struct bpf_prog_info prog = {};
	struct bpf_link_info link = {};
	char fdpath[64], kind[64] = "";
	__u32 len;
	int ret = 0, fd = bpf_obj_get(path);

	if (fd < 0)
		return -errno;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (readlink(fdpath, kind, sizeof(kind) - 1) < 0)
		ret = -errno;
	else if (strstr(kind, "bpf_link")) {
		len = sizeof(link);
		ret = bpf_obj_get_info_by_fd(fd, &link, &len) ? -errno : 0;
		if (!ret)
			add_id(link.prog_id);
	} else if (strstr(kind, "bpf-prog")) {
		len = sizeof(prog);
		ret = bpf_obj_get_info_by_fd(fd, &prog, &len) ? -errno : 0;
		if (!ret)
			add_id(prog.id);
	} else {
		ret = -EINVAL;
	}
	close(fd);
	return ret;
}

/* The object a program came from: its .rodata/.data/.bss map's name, less the suffixes. */
static void object_of(const struct bpf_prog_info *info, const __u32 *map_ids, char *out, size_t len)
{
	out[0] = '\0';
	for (__u32 i = 0; i < info->nr_map_ids && !out[0]; i++) {
		struct bpf_map_info map = {};
		__u32 mlen = sizeof(map);
		char *dot;
		int fd = bpf_map_get_fd_by_id(map_ids[i]);

		if (fd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(fd, &map, &mlen) && (dot = strrchr(map.name, '.')) &&
		    (!strcmp(dot, ".rodata") || !strcmp(dot, ".data") || !strcmp(dot, ".bss"))) {
			static const char *const cut[] = {"_bpf", "_bp", "_b", "_"};
			size_t n;

			*dot = '\0';
			/* "accept_b": libbpf cuts the object's name to fit the map's. */
			for (size_t k = 0; k < sizeof(cut) / sizeof(cut[0]); k++) {
				n = strlen(map.name);
				if (n > strlen(cut[k]) &&
				    !strcmp(map.name + n - strlen(cut[k]), cut[k])) {
					map.name[n - strlen(cut[k])] = '\0';
					break;
				}
			}
			snprintf(out, len, "%s", map.name);
		}
		close(fd);
	}
}

/* Whether the kernel's BTF object ID is vmlinux's (a tracing program's target may be a module's). */
static bool is_vmlinux_btf(__u32 id)
{
	struct bpf_btf_info info = {};
	__u32 len = sizeof(info);
	char name[64] = "";
	bool ret = false;
	int fd;

	if (!id)
		return true;
	fd = bpf_btf_get_fd_by_id(id);
	if (fd < 0)
		return false;
	info.name = (__u64)(unsigned long)name;
	info.name_len = sizeof(name);
	if (!bpf_obj_get_info_by_fd(fd, &info, &len))
		ret = !strcmp(name, "vmlinux");
	close(fd);
	return ret;
}

static void print_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++)
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if (isprint((unsigned char)*s))
			putchar(*s);
	putchar('"');
}

static void print_prog(__u32 id, const struct btf *vmlinux, bool *first)
{
	struct bpf_prog_info info = {};
	__u32 map_ids[64], len = sizeof(info);
	const char *type, *hook = NULL;
	char object[32];
	int fd = bpf_prog_get_fd_by_id(id);

	if (fd < 0)
		return;
	info.nr_map_ids = 64;
	info.map_ids = (__u64)(unsigned long)map_ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return;
	}
	close(fd);
	if (info.nr_map_ids > 64)
		info.nr_map_ids = 64;
	object_of(&info, map_ids, object, sizeof(object));
	type = libbpf_bpf_prog_type_str(info.type);
	if (info.type == BPF_PROG_TYPE_TRACING && vmlinux &&
	    is_vmlinux_btf(info.attach_btf_obj_id)) {
		const struct btf_type *t = btf__type_by_id(vmlinux, info.attach_btf_id);

		hook = t ? btf__name_by_offset(vmlinux, t->name_off) : NULL;
	}
	printf("%s{\"id\":%u,\"type\":", *first ? "" : ",", id);
	print_json_str(type ? type : "unknown");
	printf(",\"name\":");
	print_json_str(info.name);
	printf(",\"object\":");
	if (object[0])
		print_json_str(object);
	else
		printf("null");
	printf(",\"hook\":");
	if (hook)
		print_json_str(hook);
	else
		printf("null");
	printf(",\"run_time_ns\":%llu,\"run_cnt\":%llu}", (unsigned long long)info.run_time_ns,
	       (unsigned long long)info.run_cnt);
	*first = false;
}

int main(int argc, char **argv)
{
	struct btf *vmlinux;
	bool first = true;

	libbpf_set_print(NULL);
	for (int i = 1; i < argc; i++) {
		int ret = isdigit((unsigned char)argv[i][0]) ? ids_of_pid(argv[i])
							     : id_of_pin(argv[i]);

		if (ret)
			fprintf(stderr, "bpfstats: failed to read %s: %s\n", argv[i],
				strerror(-ret));
	}
	vmlinux = btf__load_vmlinux_btf();
	if (!vmlinux || libbpf_get_error(vmlinux))
		vmlinux = NULL;
	putchar('[');
	for (int i = 0; i < nids; i++)
		print_prog(ids[i], vmlinux, &first);
	printf("]\n");
	btf__free(vmlinux);
	return 0;
}
