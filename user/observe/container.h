/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which container or pod a process runs in, from its cgroup path alone: the names container
 * runtimes, systemd and the kubelet give their cgroups. No runtime or Kubernetes API is asked.
 * Pure: identity.c reads /proc and calls these.
 */
#ifndef REUSETOP_CONTAINER_H
#define REUSETOP_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>

#define RT_CGROUP_LEN	     384
#define RT_CONTAINER_ID_LEN  128 /* a 64-hex id, or a systemd unit name (cut) */
#define RT_POD_UID_LEN	     40 /* 36 and a NUL */
#define RT_POD_NAME_LEN	     65 /* HOST_NAME_MAX and a NUL */
#define RT_K8S_NAMESPACE_LEN 64 /* a DNS label (63) and a NUL */

/* Each field "" when unknown (null in JSON). */
struct rt_container {
	char runtime[16]; /* "docker", "containerd", "cri-o", "podman", "systemd" */
	char id[RT_CONTAINER_ID_LEN]; /* the full container id, or the systemd unit */
	char pod_uid[RT_POD_UID_LEN]; /* Kubernetes pod: its uid, with dashes */
	char pod[RT_POD_NAME_LEN]; /* the hostname of its UTS namespace (identity.c) */
	char k8s_namespace[RT_K8S_NAMESPACE_LEN]; /* its service account's namespace file */
};

/* What reusetop knows of one process: its cgroup path and the container that path names. */
struct rt_identity {
	char cgroup[RT_CGROUP_LEN]; /* "" when unknown */
	bool in_container; /* container is meaningful; else the process runs in none we know */
	struct rt_container container;
};

/*
 * The cgroup path of a process from the text of /proc/PID/cgroup (len bytes): the line of the
 * v1 "name=systemd" hierarchy on hybrid and v1 hosts when its path names a container, else the
 * v2 ("0::") line, else the name=systemd one. Writes it to path (cut to size); false when the
 * text has neither.
 */
bool cgroup_path_of(const char *text, size_t len, char *path, size_t size);

/*
 * The container a cgroup path names (the innermost one; a pod's uid from any ancestor), or
 * false when it names none: docker, cri-containerd, crio and libpod scopes (systemd cgroup
 * driver), 64-hex directories (cgroupfs: under "docker" or "libpod_parent", or a pod), the
 * kubelet's pod slices and pod<uid> directories, and a plain systemd service (*.service).
 * pod and k8s_namespace are left empty: they come from the process, not the path.
 */
bool container_of_cgroup(const char *path, struct rt_container *out);

/*
 * A short name for tables: "namespace/pod" (or the pod, or "pod:" and its uid's first 8), the
 * unit, or the runtime's first letters and the id's first 12 ("docker:0123456789ab"); "-"
 * without a container.
 */
const char *container_label(const struct rt_identity *id, char *buf, size_t len);

#endif
