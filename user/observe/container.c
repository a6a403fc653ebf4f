// SPDX-License-Identifier: GPL-2.0
/*
 * Containers and pods from cgroup paths (container.h). The names are the runtimes' and the
 * kubelet's conventions: with the systemd cgroup driver a container is a scope named after its
 * runtime ("docker-<id>.scope", "cri-containerd-<id>.scope", "crio-<id>.scope",
 * "libpod-<id>.scope") inside the pod's slice ("kubepods-burstable-pod<uid, _ for ->.slice");
 * with the cgroupfs driver it is a directory named by its id ("/docker/<id>",
 * "/kubepods/burstable/pod<uid>/<id>").
 */
#include <stdio.h>
#include <string.h>

#include "observe/container.h"
#include "util.h"

#define ID_HEX_LEN    64
#define POD_UID_CHARS 36

static void copy_cut(char *dst, size_t size, const char *src, size_t n)
{
	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static bool has_prefix(const char *s, size_t n, const char *prefix)
{
	size_t p = strlen(prefix);

	return n >= p && !memcmp(s, prefix, p);
}

static bool has_suffix(const char *s, size_t n, const char *suffix)
{
	size_t x = strlen(suffix);

	return n >= x && !memcmp(s + n - x, suffix, x);
}

static bool all_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* A pod uid as the kubelet writes it in cgroup names (dashes, or underscores under systemd). */
static bool pod_uid_of(const char *s, size_t n, char out[RT_POD_UID_LEN])
{
	if (n != POD_UID_CHARS)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool sep = i == 8 || i == 13 || i == 18 || i == 23;

		if (sep ? s[i] != '-' && s[i] != '_' : !all_hex(s + i, 1))
			return false;
		out[i] = sep ? '-' : s[i];
	}
	out[n] = '\0';
	return true;
}

/* "kubepods[-qos]-pod<uid>.slice" (systemd driver) or "pod<uid>" (cgroupfs driver). */
static bool pod_component(const char *s, size_t n, char out[RT_POD_UID_LEN])
{
	const char *pod;

	if (has_prefix(s, n, "pod"))
		return pod_uid_of(s + 3, n - 3, out);
	if (!has_prefix(s, n, "kubepods") || !has_suffix(s, n, ".slice"))
		return false;
	pod = memmem(s, n, "-pod", 4);
	return pod && pod_uid_of(pod + 4, (size_t)(s + n - strlen(".slice") - pod - 4), out);
}

/* Scopes the systemd cgroup driver makes, by runtime. Monitors (conmon) are not containers. */
static const struct {
	const char *prefix, *runtime;
} scopes[] = {
	{"docker-", "docker"},
	{"cri-containerd-", "containerd"},
	{"crio-", "cri-o"},
	{"libpod-", "podman"},
};

/* A container's own cgroup: runtime (or "" when the name does not say) and id. */
static bool container_component(const char *s, size_t n, const char *parent, size_t pn,
				struct rt_container *c)
{
	size_t idlen;

	for (size_t i = 0; i < ARRAY_LEN(scopes); i++) {
		size_t p = strlen(scopes[i].prefix);

		if (!has_prefix(s, n, scopes[i].prefix))
			continue;
		idlen = n - p - (has_suffix(s, n, ".scope") ? strlen(".scope") : 0);
		if (idlen != ID_HEX_LEN || !all_hex(s + p, ID_HEX_LEN))
			continue;
		snprintf(c->runtime, sizeof(c->runtime), "%s", scopes[i].runtime);
		copy_cut(c->id, sizeof(c->id), s + p, ID_HEX_LEN);
		return true;
	}
	if (n != ID_HEX_LEN || !all_hex(s, n))
		return false;
	/* cgroupfs: the directory is the id; its parent may name the runtime. */
	if (pn == strlen("docker") && !memcmp(parent, "docker", pn))
		snprintf(c->runtime, sizeof(c->runtime), "docker");
	else if (pn == strlen("libpod_parent") && !memcmp(parent, "libpod_parent", pn))
		snprintf(c->runtime, sizeof(c->runtime), "podman");
	else
		c->runtime[0] = '\0';
	copy_cut(c->id, sizeof(c->id), s, n);
	return true;
}

/*
 * containerd's systemd driver on some cgroup v1 hosts names a container
 * "<pod slice>:cri-containerd:<id>" under containerd.service.
 */
static bool colon_component(const char *s, size_t n, struct rt_container *c)
{
	const char *a = memchr(s, ':', n), *b;
	char prefix[32];

	if (!a || !(b = memchr(a + 1, ':', (size_t)(s + n - a - 1))) ||
	    (size_t)(b - a) >= sizeof(prefix) - 1)
		return false;
	snprintf(prefix, sizeof(prefix), "%.*s-", (int)(b - a - 1), a + 1);
	if (!pod_component(s, (size_t)(a - s), c->pod_uid))
		c->pod_uid[0] = '\0';
	for (size_t i = 0; i < ARRAY_LEN(scopes); i++)
		if (!strcmp(prefix, scopes[i].prefix))
			snprintf(c->runtime, sizeof(c->runtime), "%s", scopes[i].runtime);
	if (s + n - b - 1 != ID_HEX_LEN || !all_hex(b + 1, ID_HEX_LEN))
		return false;
	copy_cut(c->id, sizeof(c->id), b + 1, ID_HEX_LEN);
	return true;
}

bool container_of_cgroup(const char *path, struct rt_container *out)
{
	const char *s = path, *parent = "", *unit = NULL;
	size_t pn = 0, unit_len = 0;
	bool found = false;

	memset(out, 0, sizeof(*out));
	while (*s) {
		size_t n = strcspn(s, "/");
		struct rt_container c = {0};

		if (n && pod_component(s, n, out->pod_uid)) {
			found = true;
		} else if (n && (container_component(s, n, parent, pn, &c) ||
				 colon_component(s, n, &c))) {
			memcpy(out->runtime, c.runtime, sizeof(c.runtime));
			memcpy(out->id, c.id, sizeof(c.id));
			if (c.pod_uid[0])
				memcpy(out->pod_uid, c.pod_uid, sizeof(c.pod_uid));
			found = true;
		} else if (n && has_suffix(s, n, ".service")) {
			unit = s;
			unit_len = n;
		}
		parent = s;
		pn = n;
		s += n + (s[n] == '/');
	}
	if (found || !unit)
		return found;
	/* A plain service: the innermost unit that holds no container. */
	snprintf(out->runtime, sizeof(out->runtime), "systemd");
	copy_cut(out->id, sizeof(out->id), unit, unit_len);
	return true;
}

/* The path of the line "HIERARCHY:CONTROLLERS:PATH" whose first two fields are a and b. */
static bool cgroup_line(const char *text, size_t len, const char *ab, char *path, size_t size)
{
	size_t k = strlen(ab);

	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);
		const char *colon = memchr(p, ':', n);

		if (colon && n - (size_t)(colon + 1 - p) >= k && !memcmp(colon + 1, ab, k)) {
			copy_cut(path, size, colon + 1 + k, n - (size_t)(colon + 1 - p) - k);
			return true;
		}
		p += n + 1;
	}
	return false;
}

bool cgroup_path_of(const char *text, size_t len, char *path, size_t size)
{
	char v1[RT_CGROUP_LEN];
	struct rt_container c;
	bool have_v1 = cgroup_line(text, len, "name=systemd:", v1, sizeof(v1));

	if (have_v1 && container_of_cgroup(v1, &c)) {
		snprintf(path, size, "%s", v1);
		return true;
	}
	for (const char *p = text, *end = text + len; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = (size_t)((nl ? nl : end) - p);

		/* The v2 line: hierarchy 0, no controllers. */
		if (n >= 3 && !memcmp(p, "0::", 3)) {
			copy_cut(path, size, p + 3, n - 3);
			return true;
		}
		p += n + 1;
	}
	if (have_v1)
		snprintf(path, size, "%s", v1);
	return have_v1;
}

const char *container_label(const struct rt_identity *id, char *buf, size_t len)
{
	const struct rt_container *c = &id->container;

	if (!id->in_container)
		return "-";
	if (c->pod[0] && c->k8s_namespace[0])
		snprintf(buf, len, "%s/%s", c->k8s_namespace, c->pod);
	else if (c->pod[0])
		snprintf(buf, len, "%s", c->pod);
	else if (c->pod_uid[0])
		snprintf(buf, len, "pod:%.8s", c->pod_uid);
	else if (!strcmp(c->runtime, "systemd"))
		snprintf(buf, len, "%s", c->id);
	else if (c->runtime[0])
		snprintf(buf, len, "%s:%.12s", c->runtime, c->id);
	else
		snprintf(buf, len, "%.12s", c->id);
	return buf;
}
