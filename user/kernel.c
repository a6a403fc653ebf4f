// SPDX-License-Identifier: GPL-2.0
#include <string.h>

#include <bpf/btf.h>

#include "kernel.h"
#include "util.h"

static bool has_struct_member(const struct btf *btf, const char *type, const char *member)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	const struct btf_type *t = id < 0 ? NULL : btf__type_by_id(btf, id);
	const struct btf_member *m = t ? btf_members(t) : NULL;

	for (int i = 0; t && i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, m[i].name_off), member))
			return true;
	return false;
}

/* Parameters of kernel function `name`, or -1 when the kernel has no such function. */
static int func_params(const struct btf *btf, const char *name)
{
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_FUNC);
	const struct btf_type *proto;

	if (id < 0)
		return -1;
	proto = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	return proto ? btf_vlen(proto) : -1;
}

static bool has_enumerator(const struct btf *btf, const char *type, const char *name)
{
	int id = btf__find_by_name_kind(btf, type, BTF_KIND_ENUM);
	const struct btf_type *t = id < 0 ? NULL : btf__type_by_id(btf, id);
	const struct btf_enum *e = t ? btf_enum(t) : NULL;

	for (int i = 0; t && i < btf_vlen(t); i++)
		if (!strcmp(btf__name_by_offset(btf, e[i].name_off), name))
			return true;
	return false;
}

/* Offsets of per-CPU variables in the .data..percpu section (runqueues and the three marks). */
static void find_cpu_marks(const struct btf *btf, struct rt_kernel *k)
{
	static const char *const names[] = {"runqueues", "softnet_data", "kstat",
					    "__preempt_count"};
	long off[ARRAY_LEN(names)];
	bool found[ARRAY_LEN(names)] = {false};
	int id = btf__find_by_name_kind(btf, ".data..percpu", BTF_KIND_DATASEC);
	const struct btf_type *sec = id < 0 ? NULL : btf__type_by_id(btf, id);
	const struct btf_var_secinfo *v = sec ? btf_var_secinfos(sec) : NULL;

	for (int i = 0; sec && i < btf_vlen(sec); i++) {
		const char *name =
			btf__name_by_offset(btf, btf__type_by_id(btf, v[i].type)->name_off);

		for (size_t n = 0; n < ARRAY_LEN(names); n++) {
			if (!found[n] && name && !strcmp(name, names[n])) {
				off[n] = (long)v[i].offset;
				found[n] = true;
			}
		}
	}
	for (size_t n = 0; n < ARRAY_LEN(names); n++)
		if (!found[n])
			return;
	if (!k->rdonly_cast || !has_struct_member(btf, "sched_entity", "cfs_rq") ||
	    !has_struct_member(btf, "cfs_rq", "rq"))
		return;
	k->cpu_marks = true;
	k->softnet_data_from_rq = off[1] - off[0];
	k->kstat_from_rq = off[2] - off[0];
	k->preempt_count_from_rq = off[3] - off[0];
}

const struct rt_kernel *kernel_features(void)
{
	static struct rt_kernel k;
	static bool known;
	struct btf *btf;

	if (known)
		return &k;
	known = true;
	btf = btf__load_vmlinux_btf();
	if (!btf)
		return &k;
	k.btf = true;
	k.proto_accept_arg = btf__find_by_name_kind(btf, "proto_accept_arg", BTF_KIND_STRUCT) >= 0;
	k.rdonly_cast = btf__find_by_name_kind(btf, "bpf_rdonly_cast", BTF_KIND_FUNC) >= 0;
	k.task_pt_regs = has_enumerator(btf, "bpf_func_id", "BPF_FUNC_get_current_task_btf") &&
			 has_enumerator(btf, "bpf_func_id", "BPF_FUNC_task_pt_regs");
	k.udp_recvmsg_params = func_params(btf, "udp_recvmsg");
	k.reuseport_migrate =
		has_enumerator(btf, "bpf_attach_type", "BPF_SK_REUSEPORT_SELECT_OR_MIGRATE");
	find_cpu_marks(btf, &k);
	btf__free(btf);
	return &k;
}
